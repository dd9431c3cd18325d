/** Largest log text accepted inline (the failure is at the end, so larger files are read from their end). */
export const MAX_LOG_CHARS = 2_000_000;
