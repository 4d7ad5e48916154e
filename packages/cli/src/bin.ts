#!/usr/bin/env node
import { main } from './cli.js';

// exitCode rather than process.exit(): stdout may be a pipe that is still draining.
process.exitCode = await main(process.argv.slice(2));
