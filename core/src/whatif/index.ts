export * from './whatif.js';
