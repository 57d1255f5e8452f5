/**
 * A closed set of typed errors with stable codes (undici's style). The CLI maps each class to an
 * exit code and a one-line message; the library throws only these.
 */
export abstract class WirefallError extends Error {
  abstract readonly code: string;
  /** Process exit code the CLI uses for this class of error. */
  abstract readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file could not be opened or read (missing, permission, I/O error). */
export class UnreadableFileError extends WirefallError {
  readonly code = 'WF_UNREADABLE';
  readonly exitCode = 66; // EX_NOINPUT
}

/** The file is not a pcap/pcapng capture (unknown magic, bad header). */
export class NotACaptureError extends WirefallError {
  readonly code = 'WF_NOT_CAPTURE';
  readonly exitCode = 65; // EX_DATAERR
}

/** The file ends inside a header or packet record, or a record is corrupt; data before it is valid. */
export class TruncatedCaptureError extends WirefallError {
  readonly code = 'WF_TRUNCATED';
  readonly exitCode = 3;
}

/** The capture's only link types are ones wirefall cannot decode. */
export class UnsupportedLinkTypeError extends WirefallError {
  readonly code = 'WF_LINKTYPE';
  readonly exitCode = 4;
}

/** Bad command-line usage. */
export class UsageError extends WirefallError {
  readonly code = 'WF_USAGE';
  readonly exitCode = 64; // EX_USAGE
}

/** The output file (`-o`) cannot be created or written. */
export class OutputError extends WirefallError {
  readonly code = 'WF_OUTPUT';
  readonly exitCode = 73; // EX_CANTCREAT
}

/** Analysis was cancelled by the caller (AbortSignal). */
export class CancelledError extends WirefallError {
  readonly code = 'WF_CANCELLED';
  readonly exitCode = 130;
}

/** A malformed input to a developer tool (e.g. `hpack inflate` story JSON). */
export class InvalidInputError extends WirefallError {
  readonly code = 'WF_INVALID_INPUT';
  readonly exitCode = 65;
}
