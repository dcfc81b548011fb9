#!/usr/bin/env node
// Entry point of the `mcp-fed` command: registers the TypeScript loader, then runs src/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
