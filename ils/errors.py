"""The exceptions of the domain: one base, one small subclass per failure, each with a stable reason code."""

from ils.infra.i18n import _


class IlsError(Exception):
    """Something a person must act on; the message says what."""

    code = "error"


class ConfigError(IlsError):
    """The installation's configuration cannot be used."""

    code = "config"


class PolicyError(ConfigError):
    """A policy profile is missing, malformed, or names an unknown key."""

    code = "policy"


class WordsError(ConfigError):
    """A words file (data/words/<language>.toml) is missing, malformed, or does not say exactly
    the keys the program uses."""

    code = "words"


class SchemaVersionError(IlsError):
    """The database schema is not the version this program expects."""

    code = "schema_version"


class NotInitialised(SchemaVersionError):
    """The database has no ils schema yet."""

    code = "not_initialised"


class ImportFailed(IlsError):
    """An import file had invalid rows; nothing was imported."""

    code = "import_failed"

    def __init__(self, path, problems, rows_read, note=""):
        self.path = path
        self.problems = problems
        self.rows_read = rows_read
        super().__init__(_("{path}: {count} problem(s) in {rows} row(s); nothing was imported{note}").format(
            path=path, count=len(problems), rows=rows_read, note=note))


class RequestInvalid(IlsError):
    """A request could not be written to the pending-requests table."""

    code = "request_invalid"


class UnknownBranch(IlsError):
    """No branch has the given code."""

    code = "unknown_branch"


class BatchRunning(IlsError):
    """A batch run holds the lock; try again when it has finished."""

    code = "batch_running"


class RequestsClosed(IlsError):
    """The library takes no web requests at this hour (the profile's [requests] closed_window)."""

    code = "requests_closed"


class BatchFailed(IlsError):
    """A step of the batch raised; the run can be resumed once the cause is fixed."""

    code = "batch_failed"


class Conflict(IlsError):
    """A record changed between reading and writing it (another counter, the batch)."""

    code = "conflict"


class UnknownPatron(IlsError):
    """No patron has the card number."""

    code = "unknown_card"


class UnknownCopy(IlsError):
    """No copy has the barcode."""

    code = "unknown_copy"


class PatronBlocked(IlsError):
    """The card is suspended or expired."""

    code = "patron_blocked"


class CopyUnavailable(IlsError):
    """The copy is not in a state that allows what was asked."""

    code = "copy_unavailable"


class HoldRefused(IlsError):
    """A counter hold broke a rule and no override was given."""

    code = "hold_refused"

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class RenewalRefused(IlsError):
    """A renewal broke one of the profile's conditions."""

    code = "renewal_refused"

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


# What the machine around the program did: the database, the disk, the network ---------------


class DatabaseMissing(IlsError):
    """The database named does not exist (a mistyped --db must not create an empty library)."""

    code = "database_missing"


class DatabaseUnreachable(IlsError):
    """The database server cannot be reached, or refused the connection."""

    code = "database_unreachable"


class NotADatabase(IlsError):
    """The file named as the database is not an SQLite database."""

    code = "not_a_database"


class DatabaseBusy(IlsError):
    """Another program held the database's write lock for longer than the busy timeout."""

    code = "database_busy"


class DatabaseReadOnly(IlsError):
    """The database (its file, its folder, or the server) refuses writes."""

    code = "database_read_only"


class DiskFull(IlsError):
    """No space is left where the database or a file had to be written."""

    code = "disk_full"


class CannotWrite(IlsError):
    """A file or folder could not be written: it does not exist, or may not be written."""

    code = "cannot_write"


class MailFolderUnwritable(IlsError):
    """The folder the .eml files go to cannot take one (disk full, read-only); the mail waits in the queue."""

    code = "mail_folder_unwritable"


class ReadyNoticeUnsent(CopyUnavailable):
    """A ready copy cannot be lent before its ready mail has gone (Kitsuki); staff may override."""

    code = "ready_notice_unsent"


class MailboxUnreadable(IlsError):
    """The mbox file or Maildir folder the bounces come back to cannot be read."""

    code = "mailbox_unreadable"
