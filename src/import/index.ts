export { checkBatchId } from './batch-id.js';
export { checkImportFile, type CheckOptions, type ImportCheck, type ImportIndex } from './check.js';
export { IMPORT_COLUMNS, REQUIRED_COLUMNS, suggestColumn, type ImportColumn } from './columns.js';
export { readPeople, readSkippedRows, type ImportPerson, type ReadPeopleOptions } from './people.js';
export { formatImportProblem, ImportFileError, type ImportProblem } from './problems.js';
export { MAX_RECORD_BYTES } from './records.js';
export { rowsOf, writeCsv, type InputRow, type WriteCsvOptions } from './write.js';
