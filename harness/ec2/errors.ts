import { HttpError } from '../http/http-error.ts';

/**
 * An error in the AWS shape: the `Code` a client matches on (`InvalidInstanceID.NotFound`, `ValidationError`),
 * a message worded as AWS words it, and the HTTP status. These are answers to bad requests, not bugs: the
 * server turns them into `<Response><Errors>…` (EC2) or `<ErrorResponse>…` (Auto Scaling) bodies.
 */
export class AwsApiError extends HttpError {
  constructor(
    code: string,
    message: string,
    status = 400,
    /** Auto Scaling's `<Type>`: `Sender` for the caller's mistakes, `Receiver` for the service's. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(status, code, message);
    this.name = code;
  }
}

/** `MissingParameter`, as both services word it. */
export function missingParameter(name: string): AwsApiError {
  return new AwsApiError('MissingParameter', `The request must contain the parameter ${name}`);
}

/** `InvalidParameterValue` for a value of the wrong form. */
export function invalidParameterValue(message: string): AwsApiError {
  return new AwsApiError('InvalidParameterValue', message);
}

/** Auto Scaling's catch-all `ValidationError`. */
export function validationError(message: string): AwsApiError {
  return new AwsApiError('ValidationError', message);
}
