import { describe, expect, it } from 'vitest';
import { applyFragment, parseFragment, readConfig, verifyFragment } from '../../../lab/bundle/config-fragment.ts';

describe('config fragments', () => {
  it('parses settings and unsets, skipping comments', () => {
    const s = parseFragment('f.config', '# comment\nCONFIG_A=y\n\nCONFIG_B=n\nCONFIG_C="x y"\n');
    expect(s.map((x) => [x.name, x.value])).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', '"x y"'],
    ]);
    expect(s[1]!.origin).toBe('f.config:4');
  });

  it('names file and line of a malformed line', () => {
    expect(() => parseFragment('kernels/3.10/boards/x.config', 'CONFIG_A=y\nthis is wrong\n')).toThrow('kernels/3.10/boards/x.config:2');
  });

  it('applies as later lines and reads back', () => {
    const merged = applyFragment('CONFIG_A=n\n', parseFragment('f', 'CONFIG_A=y\nCONFIG_B=n'));
    const v = readConfig(merged);
    expect(merged).toContain('# CONFIG_B is not set');
    expect(v.get('CONFIG_B')).toBe('n');
  });

  it('fails when Kconfig dropped a requested option, naming it and its origin', () => {
    const settings = parseFragment('kernels/3.10/boards/common.config', 'CONFIG_NETLINK_DIAG=y\nCONFIG_DUMMY=y\n');
    expect(() => verifyFragment('CONFIG_DUMMY=y\n# CONFIG_NETLINK_DIAG is not set\n', settings, 'kernel')).toThrow(
      /CONFIG_NETLINK_DIAG=y \(kernels\/3\.10\/boards\/common\.config:1\) resolved to n/,
    );
    expect(() => verifyFragment('CONFIG_DUMMY=y\nCONFIG_NETLINK_DIAG=y\n', settings, 'kernel')).not.toThrow();
  });
});
