#!/usr/bin/env node
// xe: the prebuilt bundle when it is up to date, else the TypeScript sources (launch.mjs).
import { launch } from './launch.mjs';
await launch('xe', 'src/cli/xe/xe.ts');
