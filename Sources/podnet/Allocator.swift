#if canImport(Glibc)
import CMalloc
#endif

/// podnet runs once and exits: memory it frees is better kept for its next
/// allocation than handed back to the kernel and faulted in again. glibc maps each
/// allocation over 128 KiB (rule blobs, entry buffers, plan text, arrays that grow
/// by doubling) on its own and unmaps it when freed, so every such buffer costs
/// fresh page faults; from the heap, freed space is reused (the commit that added
/// this file has the measurement).
enum Allocator {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
        #endif
    }
}
