// Which variable names look like they hold a secret, as BuildKit's SecretsUsedInArgOrEnv check decides it
// (moby/buildkit frontend/dockerfile/dockerfile2llb/convert.go, getSecretsRegex): one of its tokens as a whole
// `_`-separated word of the name, case-insensitive, unless an allowed word is also there (PUBLIC_KEY, KEY_FILE).

const SECRET_TOKENS = [
  'apikey',
  'auth',
  'credential',
  'credentials',
  'key',
  'password',
  'pword',
  'passwd',
  'secret',
  'token',
];
const ALLOW_TOKENS = ['public', 'file', 'version'];

const words = (tokens: string[]) => new RegExp(`(?:_|^)(?:${tokens.join('|')})(?:_|$)`, 'i');
const SECRET_NAME = words(SECRET_TOKENS);
const ALLOWED_NAME = words(ALLOW_TOKENS);

/** True for names like HF_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD; false for PUBLIC_KEY, TOKEN_FILE, PYTHON_VERSION. */
export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !ALLOWED_NAME.test(name);
}
