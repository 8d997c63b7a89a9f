#!/usr/bin/env node
// `redeliver` on PATH: runs the TypeScript entry point with Node >= 22.19 (built-in type stripping).
import "../src/main.ts";
