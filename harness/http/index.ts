export { HttpError, statusCode, type HttpErrorOptions } from './http-error.ts';
export { DEFAULT_MAX_BODY_BYTES, LAYER_ERROR_CODES, locateJsonError, parseJsonBody, readBody } from './body.ts';
export { HttpRoutes, type HttpHandler, type HttpMethod, type RouteMatch } from './routes.ts';
export {
  HttpListenError,
  jsonErrors,
  listenHttp,
  ListeningHttp,
  plainTextErrors,
  sendJson,
  sendText,
  type ErrorAnswer,
  type HttpErrorMapper,
  type HttpRequest,
  type HttpServerOptions,
} from './http-server.ts';
