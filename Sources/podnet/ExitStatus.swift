import ArgumentParser

/// The exit statuses scripts can rely on (sysexits.h where one fits).
enum ExitStatus {
    static let success = ExitCode.success
    /// Any failure that is not the input's fault (kernel refused, I/O error, internal error).
    static let failure = ExitCode.failure
    /// `podnet diff`: the kernel differs from the config.
    static let changesPending = ExitCode(2)
    /// `podnet apply` (and teardown): everything was applied except the routes named
    /// on stderr, which the kernel refused (a peer's route stands alone); the next
    /// apply retries them.
    static let routesRefused = ExitCode(3)
    /// EX_USAGE: ArgumentParser already exits with it for bad arguments.
    static let usage = ExitCode.validationFailure
    /// EX_DATAERR: the config or NodeList is invalid.
    static let invalidInput = ExitCode(65)
}
