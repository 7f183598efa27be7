import { createReadStream } from 'node:fs';
import { parse, type CsvError, type InfoRecord, type Options } from 'csv-parse';

/**
 * Streams the records of a CSV file with csv-parse, one at a time, each with the line it starts on. The
 * file is never held whole: memory is one chunk plus one record, and a record is bounded.
 */

/** Far above any real row (nine short cells), small enough that a quote left open cannot fill memory. */
export const MAX_RECORD_BYTES = 64 * 1024;

export type CsvEvent =
  | { kind: 'record'; line: number; cells: string[] }
  /**
   * A record csv-parse could not read. `cell` is its 0-based cell, when known. `stop`: nothing after this
   * point was read (a quote left open swallows the rest of the file, so its records would be guesses).
   */
  | { kind: 'problem'; line: number; cell?: number; message: string; stop: boolean };

export interface ReadCsvOptions {
  maxRecordBytes?: number;
}

/**
 * csv-parse's line numbers count the end of a record and count a CRLF inside a quoted value twice; this
 * keeps the record's first physical line. `info.lines` at a record is the line it ends on, so the start is
 * that minus the line breaks inside its values, less the extra count of every CRLF inside earlier values.
 */
class LineTracker {
  private surplus = 0;
  private lastEnd = 0;
  private lastEmpty = 0;

  recordStart(cells: readonly string[], info: Pick<InfoRecord, 'lines' | 'empty_lines'>): number {
    let counted = 0;
    let crlf = 0;
    for (const cell of cells) {
      for (let i = cell.indexOf('\r'); i !== -1; i = cell.indexOf('\r', i + 1)) {
        counted++;
        if (cell[i + 1] === '\n') crlf++;
      }
      for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) counted++;
    }
    const start = info.lines - counted - this.surplus;
    this.surplus += crlf;
    this.lastEnd = info.lines;
    this.lastEmpty = info.empty_lines;
    return start;
  }

  /** Where a record that csv-parse gave up on mid-way began: after the last record and the blank lines since. */
  pendingStart(info: Pick<InfoRecord, 'empty_lines'>, after = 0): number {
    return Math.max(this.lastEnd + 1 + (info.empty_lines - this.lastEmpty), after + 1) - this.surplus;
  }

  /** A line csv-parse names in an error, as a physical line. */
  physical(line: number): number {
    return line - this.surplus;
  }
}

type ErrorInfo = CsvError & Partial<Pick<InfoRecord, 'lines' | 'empty_lines' | 'index'>>;

/**
 * The records of `path`, in file order, with every problem csv-parse reports. UTF-8 with or without a BOM,
 * CRLF or LF, quoted values with commas and line breaks; blank lines skipped. Cells are decoded as UTF-8:
 * bytes that are not become U+FFFD, which the row checks report by cell. A missing or unreadable file
 * rejects with the stream's error (ENOENT, EACCES, EISDIR).
 */
export async function* readCsvRecords(path: string, options: ReadCsvOptions = {}): AsyncGenerator<CsvEvent> {
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const lines = new LineTracker();
  // Problems found while csv-parse reads ahead; each is handed out with the next record so order holds.
  let pending: CsvEvent[] = [];
  let stopped = false;
  let lastStrayQuote = 0;

  const onSkip = (error: ErrorInfo | undefined): undefined => {
    if (!error || stopped) return undefined;
    const event = describe(error, lines, maxRecordBytes, lastStrayQuote);
    if (error.code === 'INVALID_OPENING_QUOTE') lastStrayQuote = error.lines ?? 0;
    if (event.kind === 'problem' && event.stop) stopped = true;
    pending.push(event);
    return undefined;
  };

  const parserOptions: Options<CsvEvent[], string[]> = {
    bom: true,
    encoding: 'utf8',
    skip_empty_lines: true,
    // A short or long row is our problem to report with the line, not a reason to stop reading.
    relax_column_count: true,
    // A stray quote skips its record and reading goes on, so every bad line is found in one pass.
    skip_records_with_error: true,
    max_record_size: maxRecordBytes,
    on_skip: onSkip,
    on_record: (record: string[], context: InfoRecord) => {
      // After a stop, csv-parse reads on inside a quote that never closes: its records are not rows.
      if (stopped) return null;
      const events = pending;
      pending = [];
      events.push({ kind: 'record', line: lines.recordStart(record, context), cells: record });
      return events;
    },
  };
  // Without `columns`, csv-parse's overloads type records as string[]; on_record makes them event lists.
  const parser = parse(parserOptions as unknown as Options);
  const source = createReadStream(path);
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  try {
    for await (const events of parser as AsyncIterable<CsvEvent[]>) yield* events;
    yield* pending;
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function describe(error: ErrorInfo, lines: LineTracker, maxRecordBytes: number, lastStrayQuote: number): CsvEvent {
  const at = error.lines ?? 0;
  const cell = typeof error.index === 'number' ? error.index : undefined;
  switch (error.code) {
    case 'INVALID_OPENING_QUOTE':
      return {
        kind: 'problem',
        line: lines.physical(at),
        cell,
        message:
          'has a quote inside a value that does not start with one: quote the whole value ("…") and write a quote inside it twice ("")',
        stop: false,
      };
    case 'CSV_INVALID_CLOSING_QUOTE':
      return {
        kind: 'problem',
        line: lines.physical(at),
        cell,
        message:
          'a quoted value is followed by more text before the next comma: write a quote inside a quoted value twice (""); the file was not read past this point',
        stop: true,
      };
    case 'CSV_QUOTE_NOT_CLOSED':
      return {
        kind: 'problem',
        line: lines.pendingStart({ empty_lines: error.empty_lines ?? 0 }, lastStrayQuote),
        cell,
        message: `a quote opened in this record is never closed: the file ends inside it (line ${lines.physical(at)}), so nothing after the quote was read`,
        stop: true,
      };
    case 'CSV_MAX_RECORD_SIZE':
      return {
        kind: 'problem',
        line: lines.pendingStart({ empty_lines: error.empty_lines ?? 0 }, lastStrayQuote),
        cell,
        message: `the record starting here is longer than ${Math.round(maxRecordBytes / 1024)} KiB (a quote that is never closed?); the file was not read past this point`,
        stop: true,
      };
    default:
      return {
        kind: 'problem',
        line: lines.physical(at),
        cell,
        message: `cannot be read as CSV (${error.code}); the file was not read past this point`,
        stop: true,
      };
  }
}
