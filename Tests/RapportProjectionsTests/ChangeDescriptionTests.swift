import Foundation
@testable import RapportProjections
import Testing

@Suite struct ChangeDescriptionTests {
    @Test func theRemovalWordSearchAgreesWithContains() {
        let types = ["", "Removed", "Remove", "DealContactRemoved", "ContactUnlinkedFromCompany", "ActivityRemovedFromCampaign",
                     "DealRenamed", "RemovedX", "XRemoved", "Unlinke", "ActivityUnlinked", "ümlautRemoved", "Re", "Rémoved"]
        for type in types {
            #expect(ChangeDescription.occurs("Removed", in: type) == type.contains("Removed"), "\(type)")
            #expect(ChangeDescription.occurs("Unlinked", in: type) == type.contains("Unlinked"), "\(type)")
        }
    }
}
