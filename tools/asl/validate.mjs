// AWS's own ASL validation (npm amazon-states-language-service, the one in the AWS Toolkit for VS Code) over each
// file given: prints every diagnostic as file:line:column, exits 1 when any is an error. It adds checks asl-validator
// lacks: fields Step Functions does not know (a misspelt MaxAttempts), enum values (JitterStrategy), minimums
// (BackoffRate >= 1).
//   node tools/asl/validate.mjs statemachine/*.asl.json
import { readFileSync } from 'node:fs';
import asl from 'amazon-states-language-service';

const { getLanguageService, TextDocument, DiagnosticSeverity } = asl;
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };
const service = getLanguageService({});
let errors = 0;
const files = process.argv.slice(2);
if (!files.length) {
  process.stderr.write('usage: node tools/asl/validate.mjs FILE.asl.json...\n');
  process.exit(2);
}
for (const file of files) {
  const document = TextDocument.create(`file://${file}`, 'json', 0, readFileSync(file, 'utf8'));
  const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
  for (const d of diagnostics) {
    const { line, character } = d.range.start;
    process.stdout.write(`${file}:${line + 1}:${character + 1}: ${SEVERITY[d.severity] ?? 'error'}: ${d.message}\n`);
    if ((d.severity ?? DiagnosticSeverity.Error) === DiagnosticSeverity.Error) errors += 1;
  }
}
process.exit(errors ? 1 : 0);
