import Foundation
import Testing
import PodNetSystem

/// Whole-file reads: a file of a List's size (its buffer marked for huge pages) reads to
/// its bytes, as a small one does.
@Suite struct InputFileTests {
    @Test(arguments: [0, 100, 9 << 20, (9 << 20) + 4_097])
    func aFileReadsToItsBytes(size: Int) throws {
        let path = NSTemporaryDirectory() + "podnet-inputfile-\(getpid())-\(size)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try InputFile.read(path: path).get() == bytes)
    }
}
