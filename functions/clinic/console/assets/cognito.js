/**
 * Signing in to the clinic's Cognito user pool, straight from the page: Cognito's public API
 * (InitiateAuth, RespondToAuthChallenge, ...) accepts unsigned calls from a browser, so the
 * console needs no SDK and no third-party script.
 *
 * Tokens live in this module's memory only, never in localStorage or sessionStorage: a
 * script injected into the page could read storage, and a reload simply asks to sign in.
 */

let config = null;
let tokens = null; // {access, id, refresh, expiresAt}

/** The pool's settings, from the console's config.json: {region, clientId, cognitoEndpoint}. */
export function configure(settings) {
  config = settings;
}

/** A Cognito error with its type ("NotAuthorizedException", ...) and Cognito's message. */
export class CognitoError extends Error {
  constructor(type, message) {
    super(message || type);
    this.type = type;
  }
}

async function call(action, body) {
  const response = await fetch(config.cognitoEndpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(answer.__type || "UnknownError").split("#").pop();
    throw new CognitoError(type, answer.message || answer.Message);
  }
  return answer;
}

/**
 * The next step of a sign-in: {done: true} once signed in, or {challenge, session, username}
 * for the step Cognito asks for next (NEW_PASSWORD_REQUIRED, MFA_SETUP, SOFTWARE_TOKEN_MFA).
 */
function nextStep(answer, username) {
  if (answer.AuthenticationResult) {
    keep(answer.AuthenticationResult);
    return { done: true };
  }
  return { done: false, challenge: answer.ChallengeName, session: answer.Session, username };
}

function keep(result) {
  tokens = {
    access: result.AccessToken,
    id: result.IdToken,
    refresh: result.RefreshToken || (tokens && tokens.refresh),
    expiresAt: Date.now() + Number(result.ExpiresIn || 3600) * 1000,
  };
}

/** First step: username and password (USER_PASSWORD_AUTH, over TLS to Cognito). */
export async function startSignIn(username, password) {
  const answer = await call("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return nextStep(answer, username);
}

/** A first sign-in with a temporary password: choose the real one. */
export async function setNewPassword(step, newPassword) {
  const answer = await call("RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    ClientId: config.clientId,
    Session: step.session,
    ChallengeResponses: { USERNAME: step.username, NEW_PASSWORD: newPassword },
  });
  return nextStep(answer, step.username);
}

/** MFA set-up, part one: the secret key to enter in an authenticator app. */
export async function beginTotpSetup(step) {
  const answer = await call("AssociateSoftwareToken", { Session: step.session });
  return { ...step, session: answer.Session, secret: answer.SecretCode };
}

/** MFA set-up, part two: the app's first code proves the key was entered; then signed in. */
export async function finishTotpSetup(step, code) {
  const verified = await call("VerifySoftwareToken", {
    Session: step.session,
    UserCode: code,
    FriendlyDeviceName: "Clinic staff console",
  });
  const answer = await call("RespondToAuthChallenge", {
    ChallengeName: "MFA_SETUP",
    ClientId: config.clientId,
    Session: verified.Session,
    ChallengeResponses: { USERNAME: step.username },
  });
  return nextStep(answer, step.username);
}

/** Every later sign-in: the authenticator app's current code. */
export async function answerTotp(step, code) {
  const answer = await call("RespondToAuthChallenge", {
    ChallengeName: "SOFTWARE_TOKEN_MFA",
    ClientId: config.clientId,
    Session: step.session,
    ChallengeResponses: { USERNAME: step.username, SOFTWARE_TOKEN_MFA_CODE: code },
  });
  return nextStep(answer, step.username);
}

/** The access token for the staff API, refreshed a minute before it expires; null if signed out. */
export async function accessToken() {
  if (!tokens) return null;
  if (Date.now() > tokens.expiresAt - 60000) {
    await refresh();
  }
  return tokens ? tokens.access : null;
}

/** Trade the refresh token for new tokens; signs out if Cognito refuses it. */
export async function refresh() {
  if (!tokens || !tokens.refresh) {
    tokens = null;
    return;
  }
  try {
    const answer = await call("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: config.clientId,
      AuthParameters: { REFRESH_TOKEN: tokens.refresh },
    });
    keep(answer.AuthenticationResult);
  } catch {
    tokens = null;
  }
}

/** Who is signed in, from the ID token: {username, groups}; null if nobody. */
export function currentUser() {
  if (!tokens) return null;
  const claims = decodeClaims(tokens.id);
  const groups = claims["cognito:groups"];
  return {
    username: String(claims["cognito:username"] || claims.email || ""),
    groups: Array.isArray(groups) ? groups : [],
  };
}

// The page only reads the claims to show or hide buttons; the API checks every token itself.
function decodeClaims(jwt) {
  try {
    const part = String(jwt).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

/** Sign out everywhere (Cognito revokes the refresh token), and forget the tokens here. */
export async function signOut() {
  const access = tokens && tokens.access;
  tokens = null;
  if (access) {
    await call("GlobalSignOut", { AccessToken: access }).catch(() => {});
  }
}
