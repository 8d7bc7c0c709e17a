#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so that the package works without a build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/xe/xe.ts');
