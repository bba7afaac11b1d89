import Foundation

/// Crashes counted against inputs. A job whose worker stopped is queued again once; the second time an input stops a
/// worker, every job carrying it fails at once, and new uploads of it are refused, so that one poisonous image
/// cannot take the worker (and, in `serve`, the HTTP side with it) down again and again. An input is known by the
/// SHA-256 of its bytes; its count is forgotten a week after its last crash.
extension JobStateMachine {
    /// The crash that fails an input's jobs.
    static let crashesBeforeGivingUp = 2
    /// How long a crash is remembered.
    static let crashMemory: TimeInterval = 7 * 24 * 3600

    /// A worker shutting down gives its running job back: queued again at once, the attempt not counted, and no
    /// crash counted against its input, since its lease did not run out. Only the holder may.
    static func release(id: String, worker: String) -> JobStatement {
        JobStatement(
            """
            UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires = NULL,
                progress = 0, step = NULL, tiles_done = NULL, tiles_total = NULL
            WHERE id = :id AND status = 'running' AND lease_owner = :worker
            """, ["id": .text(id), "worker": .text(worker)])
    }

    static func countCrash(inputDigest: String, now: Date) -> JobStatement {
        JobStatement(
            """
            INSERT INTO crashed_inputs (digest, crashes, last_at) VALUES (:digest, 1, :now)
            ON CONFLICT (digest) DO UPDATE SET crashes = crashed_inputs.crashes + 1, last_at = excluded.last_at
            """, ["digest": .text(inputDigest), "now": .real(now.timeIntervalSince1970)])
    }

    /// A step of the claim after the lost jobs are queued again: the queued jobs whose input has stopped a worker
    /// ``crashesBeforeGivingUp`` times fail, with the reason.
    static func giveUpCrashingInputs(resultTTL: TimeInterval, now: Date) -> JobStatement {
        let t = now.timeIntervalSince1970
        return JobStatement(
            """
            UPDATE jobs SET status = 'failed', finished_at = :now, error_code = :code,
                error_message = 'this image stopped the worker ' || :most || ' times; it is not tried again',
                expires_at = :expires
            WHERE status = 'queued' AND input_digest IN
                (SELECT digest FROM crashed_inputs WHERE crashes >= :most)
            """,
            [
                "now": .real(t), "code": .text(ErrorCode.inputCrashedWorker.rawValue), "expires": .real(t + resultTTL),
                "most": .integer(crashesBeforeGivingUp),
            ])
    }

    /// How many times an input has stopped a worker (no row: none).
    static func crashes(inputDigest: String) -> JobStatement {
        JobStatement(
            "SELECT crashes FROM crashed_inputs WHERE digest = :digest", ["digest": .text(inputDigest)])
    }

    /// Part of the sweep: crashes older than ``crashMemory`` are forgotten.
    static func forgetCrashes(now: Date) -> JobStatement {
        JobStatement(
            "DELETE FROM crashed_inputs WHERE last_at < :before",
            ["before": .real(now.timeIntervalSince1970 - crashMemory)])
    }

    static let crashesMigration = [
        "ALTER TABLE jobs ADD COLUMN input_digest TEXT",
        """
        CREATE TABLE crashed_inputs (digest TEXT PRIMARY KEY, crashes INTEGER NOT NULL,
                                     last_at DOUBLE PRECISION NOT NULL)
        """,
    ]
}
