/** Thrown for a setting that cannot be used; drey prints it and exits. */
export class ConfigError extends Error {}
