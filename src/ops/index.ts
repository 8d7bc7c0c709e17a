// Every class's semantics, one file per class; merged into one table for the dispatcher.

import type { ImplTable } from '../api/context.ts';
import { messageImpls } from './message.ts';
import { networkImpls } from './network.ts';
import { poolImpls } from './pool.ts';

export const opsImpls: ImplTable = { ...networkImpls, ...messageImpls, ...poolImpls };
