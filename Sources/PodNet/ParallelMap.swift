#if canImport(Glibc)
import Glibc
#endif
import Dispatch

extension Array where Element: Sendable {
    /// `map` on every core for long arrays (a plan or render of thousands of rules
    /// and routes, its text built independently per element), in order; a plain
    /// `map` below `minimumCount`, where starting threads would cost more.
    public func parallelMap<Result: Sendable>(minimumCount: Int = 512,
                                       _ transform: @Sendable (Element) -> Result) -> [Result] {
        let workers = Swift.min(ProcessorCount.active, count / Swift.max(minimumCount / 2, 1))
        guard count >= minimumCount, workers > 1 else { return map(transform) }
        let chunk = (count + workers - 1) / workers
        let parts = UnsafeMutableBufferPointer<[Result]>.allocate(capacity: workers)
        parts.initialize(repeating: [])
        defer { parts.deinitialize().deallocate() }
        let output = SendablePointer(parts)
        self.withUnsafeBufferPointer { input in
            let source = SendableInput(input)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let range = (worker * chunk)..<Swift.min((worker + 1) * chunk, source.buffer.count)
                output.buffer[worker] = source.buffer[range].map(transform)
            }
        }
        return [Result](parts.joined())
    }
}

/// Each worker writes only its own slot, and the caller reads them after all finish.
private struct SendablePointer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// The input, read by every worker and alive for the whole `concurrentPerform`.
private struct SendableInput<Element>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<Element>
    init(_ buffer: UnsafeBufferPointer<Element>) { self.buffer = buffer }
}

enum ProcessorCount {
    /// The CPUs online, at least 1.
    static let active: Int = {
        #if canImport(Glibc)
        return Swift.max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
        #else
        return 1
        #endif
    }()
}
