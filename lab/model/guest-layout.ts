/**
 * Where the lab puts things in a guest. Images are built with these paths and
 * scenarios run what is there, so both read them from here.
 */
export const GUEST_PROBES = '/opt/reprolab/probes';

/** The libc the image ships: /lib, as a Buildroot product has it. Every other variant lives under its own prefix. */
export const BASELINE_VARIANT = 'unpatched';

/** Static probes of a variant (linked against its libc.a). */
export function staticProbeDir(variant: string): string {
  return `${GUEST_PROBES}/${variant}`;
}

/** Dynamically linked probes of a uClibc variant: they load the variant's own ld-uClibc.so.0 and libc.so.0. */
export function sharedProbeDir(variant: string): string {
  return `${GUEST_PROBES}/${variant}/shared`;
}

/** The folder holding a uClibc variant's loader and shared libraries in the guest. */
export function libcLibDir(variant: string): string {
  return variant === BASELINE_VARIANT ? '/lib' : `/opt/reprolab/libc/${variant}/lib`;
}

/** A user's scenario's probes, uploaded when it runs (they are not in the image). */
export function scenarioProbeDir(scenario: string, variant: string, linkage: 'static' | 'shared' = 'static'): string {
  return `/opt/reprolab/scenarios/${scenario}/${variant}${linkage === 'shared' ? '/shared' : ''}`;
}
