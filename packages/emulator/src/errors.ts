/**
 * Kaltura's API errors (spec §7, §10): each constant is `CODE;ARG1,ARG2;message with @ARG1@`,
 * exactly as kaltura/server writes them (`api_v3/lib/KalturaErrors.php`,
 * `alpha/apps/kaltura/lib/webservices/APIErrors.class.php`), plus the few codes the emulator
 * adds for requests it cannot read at all (marked "emulator").
 */
const TEMPLATES = {
  INVALID_KS:
    'INVALID_KS;KSID,ERR_CODE,ERR_DESC;Invalid KS "@KSID@", Error "@ERR_CODE@,@ERR_DESC@"',
  MISSING_KS: 'MISSING_KS;;Missing KS, session not established',
  START_SESSION_ERROR: 'START_SESSION_ERROR;PID;Error while starting session for partner [@PID@]',
  START_WIDGET_SESSION_ERROR:
    'START_WIDGET_SESSION_ERROR;WIDGET_ID;error while starting session for widget id [@WIDGET_ID@]',
  INVALID_WIDGET_ID: 'INVALID_WIDGET_ID;WIDGET_ID;Unknown widget [@WIDGET_ID@]',
  SERVICE_FORBIDDEN: 'SERVICE_FORBIDDEN;SERVICE;The access to service [@SERVICE@] is forbidden',
  PARTNER_ACCESS_FORBIDDEN:
    'PARTNER_ACCESS_FORBIDDEN;ACCESSING_PID,ACCESSED_PID;Partner [@ACCESSING_PID@] cannot access partner [@ACCESSED_PID@]',
  APP_TOKEN_ID_NOT_FOUND: 'APP_TOKEN_ID_NOT_FOUND;ID;Application token id "@ID@" not found',
  APP_TOKEN_NOT_ACTIVE: 'APP_TOKEN_NOT_ACTIVE;ID;Application token id "@ID@" not active',
  APP_TOKEN_EXPIRED: 'APP_TOKEN_EXPIRED;ID;Application token id "@ID@" expired',
  INVALID_APP_TOKEN_HASH: 'INVALID_APP_TOKEN_HASH;;Invalid application token hash',
  USER_WRONG_PASSWORD: 'USER_WRONG_PASSWORD;;Wrong password supplied',
  USER_NOT_FOUND: 'USER_NOT_FOUND;;User was not found',
  INVALID_USER_ID: 'INVALID_USER_ID;;Invalid user id',
  CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION:
    'CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION;USER_ID;cannot retrieve another user "@USER_ID@" using non-admin session',
  ENTRY_ID_NOT_FOUND: 'ENTRY_ID_NOT_FOUND;ENTRY_ID;Entry id "@ENTRY_ID@" not found',
  // plugins/metadata/lib/MetadataErrors.php
  MUST_FILTER_ON_OBJECT_ID: 'MUST_FILTER_ON_OBJECT_ID;;Must filter on object id',
  MUST_FILTER_ON_OBJECT_TYPE: 'MUST_FILTER_ON_OBJECT_TYPE;;Must filter on object type',
  INVALID_ENUM_VALUE:
    'INVALID_ENUM_VALUE;ENUM_VAL,PARAM_NAME,ENUM_TYPE;Invalid enumeration value "@ENUM_VAL@" for parameter "@PARAM_NAME@", expecting enumeration type "@ENUM_TYPE@"',
  MISSING_MANDATORY_PARAMETER:
    'MISSING_MANDATORY_PARAMETER;PARAM_NAME;Missing parameter "@PARAM_NAME@"',
  INVALID_FIELD_VALUE: 'INVALID_FIELD_VALUE;FIELD_NAME;value in field [@FIELD_NAME@] is not valid',
  INVALID_PARAMETER_CHAR: 'INVALID_PARAMETER_CHAR;XML_FIELD;Invalid char in "@XML_FIELD@" field',
  INVALID_ACTIONS_LIMIT: 'INVALID_ACTIONS_LIMIT;;Invalid actions limit',
  INVALID_SET_ROLE: 'INVALID_SET_ROLE;;Invalid set role id',
  SERVICE_NOT_SPECIFIED:
    'SERVICE_NOT_SPECIFIED;;Service name was not specified, please specify one',
  SERVICE_DOES_NOT_EXISTS: 'SERVICE_DOES_NOT_EXISTS;SRV_NAME;Service "@SRV_NAME@" does not exists',
  ACTION_NOT_SPECIFIED: 'ACTION_NOT_SPECIFIED;;Action name was not specified, please specify one',
  ACTION_DOES_NOT_EXISTS:
    'ACTION_DOES_NOT_EXISTS;ACTION_NAME,SERVICE_NAME;Action "@ACTION_NAME@" does not exists for service "@SERVICE_NAME@"',
  UNKNOWN_RESPONSE_FORMAT:
    'UNKNOWN_RESPONSE_FORMAT;FORMAT;Response format provided [@FORMAT@] is not recognized by server',
  INTERNAL_SERVERL_ERROR: 'INTERNAL_SERVERL_ERROR;;Internal server error occurred',
  // emulator: requests Kaltura's front controller would never see in this form.
  INVALID_JSON: 'INVALID_JSON;;The request body is not a JSON object',
  UNSUPPORTED_CONTENT_TYPE:
    'UNSUPPORTED_CONTENT_TYPE;CONTENT_TYPE;Content type "@CONTENT_TYPE@" is not supported: send application/x-www-form-urlencoded or application/json',
  REQUEST_TOO_LARGE:
    'REQUEST_TOO_LARGE;MAX_BYTES;The request body is larger than @MAX_BYTES@ bytes',
  // No argument: a path may carry a KS (`/ks/<ks>/…`), and errors never echo one.
  NOT_FOUND: 'NOT_FOUND;;Nothing is served here: the API lives under /api_v3',
} as const;

export type KalturaErrorCode = keyof typeof TEMPLATES;

/** The JSON body of a Kaltura API error, keys in Kaltura's order. `args` is `[]` when empty (a PHP empty array). */
export interface KalturaErrorBody {
  code: string;
  message: string;
  objectType: 'KalturaAPIException';
  args: Record<string, string> | [];
}

interface Template {
  code: string;
  argNames: string[];
  message: string;
}

const PARSED = new Map<string, Template>();
for (const template of Object.values(TEMPLATES)) {
  const [code = '', names = '', message = ''] = splitTemplate(template);
  PARSED.set(code, { code, argNames: names === '' ? [] : names.split(','), message });
}

function splitTemplate(template: string): [string, string, string] {
  const first = template.indexOf(';');
  const second = template.indexOf(';', first + 1);
  return [template.slice(0, first), template.slice(first + 1, second), template.slice(second + 1)];
}

/** Echoed values are cut here: an error should never carry a megabyte of someone's input back. */
const MAX_ARG_LENGTH = 256;

function cleanArg(value: string): string {
  // Kaltura strips HTML tags from arguments (APIErrors::getErrorData uses strip_tags).
  const stripped = value.replace(/<[^>]*>?/g, '');
  return stripped.length > MAX_ARG_LENGTH ? `${stripped.slice(0, MAX_ARG_LENGTH)}…` : stripped;
}

/**
 * Builds an error body as Kaltura's `APIErrors::getErrorData` does: argument names map to
 * the given values in order (missing ones become `N/A`), and every `@NAME@` in the message
 * is replaced. A code the catalogue does not know gets a generic message and no arguments.
 */
export function errorBody(
  code: string,
  ...values: (string | number | undefined)[]
): KalturaErrorBody {
  const template = PARSED.get(code);
  if (template === undefined) {
    return { code, message: `Emulated error ${code}`, objectType: 'KalturaAPIException', args: [] };
  }
  let message = template.message;
  const args: Record<string, string> = {};
  template.argNames.forEach((name, i) => {
    const raw = values[i];
    const value = raw === undefined ? 'N/A' : cleanArg(String(raw));
    args[name] = value;
    message = message.replaceAll(`@${name}@`, value);
  });
  return {
    code: template.code,
    message,
    objectType: 'KalturaAPIException',
    args: template.argNames.length === 0 ? [] : args,
  };
}

/** Thrown by handlers and caught by the dispatcher, which answers with its body (HTTP 200). */
export class ApiException extends Error {
  readonly body: KalturaErrorBody;
  /** Extra response headers (Kaltura sets two on SERVICE_FORBIDDEN). */
  readonly headers: Record<string, string>;

  constructor(body: KalturaErrorBody, headers: Record<string, string> = {}) {
    super(body.message);
    this.name = 'ApiException';
    this.body = body;
    this.headers = headers;
  }
}

export function apiError(
  code: KalturaErrorCode,
  ...values: (string | number | undefined)[]
): ApiException {
  return new ApiException(errorBody(code, ...values));
}

export function isKnownErrorCode(code: string): boolean {
  return PARSED.has(code);
}
