// Preloaded into a measured child (`node --require peak-rss.cjs …`): at its exit it writes its
// peak RSS, in KiB, to the file BENCH_PEAK_RSS_FILE names.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const file = process.env.BENCH_PEAK_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
