import path from 'node:path';
import { repoRoot } from '../util/paths.ts';

/** images/libc/uclibc-0.9.33.2: the uClibc release the lab builds — its pinned source, config fragments, compatibility patches and variant series. */
export const uclibcDir = path.join(repoRoot, 'images', 'libc', 'uclibc-0.9.33.2');
