export { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
export { main } from './main.js';
