#pragma once

// The route table of the HTTP service: method + path pattern → access rule + handler. The
// router checks the bearer token against the route's access rule, calls the handler and turns
// every failure into the one JSON error shape (http_error.h), so handlers never write an error
// response themselves and never throw into the HTTP library.
//
//   Router router(&tokens, /*public_read=*/false);
//   router.Add("GET", "/api/v1/samples/{id}", Access::kRead, [](const HttpRequest& request,
//              const RequestContext&) { ... request.PathParam("id") ... });
//   HttpResponse response = router.Handle(request);

#include "phytoflow/server/accounts.h"
#include "phytoflow/server/http_message.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// Who may call a route.
enum class Access {
  kPublic,     // anyone, always (health checks, the OpenAPI document, DEEPaaS discovery)
  kRead,       // anyone when the server runs with --public-read, else any valid token
  kAnnotator,  // a token of role annotator or admin
  kAdmin,      // a token of role admin
};

// What the router learnt about the caller.
struct RequestContext {
  std::optional<ApiToken> token;  // the valid token presented, if any
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&, const RequestContext&)>;

// How a route's errors look: the standard shape, or the standard shape plus the DEEPaaS fields
// {"status": "error", "message": ...} that iMagine / AI4OS clients read.
enum class ErrorStyle { kStandard, kDeepaas };

struct Route {
  std::string method;   // "GET", "POST", "PATCH", ...
  std::string pattern;  // "/api/v1/samples/{id}": {name} matches one non-empty path segment
  Access access = Access::kRead;
  RouteHandler handler;
  ErrorStyle error_style = ErrorStyle::kStandard;
};

class Router {
 public:
  // `tokens` may be null: then every presented token is unknown.
  Router(TokenRegistry* tokens, bool public_read);

  void Add(const std::string& method,
           const std::string& pattern,
           Access access,
           RouteHandler handler,
           ErrorStyle error_style = ErrorStyle::kStandard);
  // Every registered route, in registration order (the OpenAPI test walks them).
  const std::vector<Route>& Routes() const { return routes_; }

  // Answers a request: 404 when no pattern matches the path, 405 (with Allow) when one matches
  // but not for this method, 401 for a missing, malformed, unknown or revoked token where one
  // is needed or given, 403 for a token whose role is too low, else the handler's response, or
  // the error it threw mapped by http_error.h. HEAD is answered as GET. Never throws.
  HttpResponse Handle(HttpRequest request) const;
  // What Handle would answer before calling a handler, from the request line and headers alone
  // (the body need not have arrived): the 404, 405, 401 or 403, or nullopt when the request may
  // go on. The HTTP adapter asks before it reads a body, so that an anonymous upload is refused
  // before anything of it is stored.
  std::optional<HttpResponse> Authorize(const HttpRequest& head) const;

 private:
  // The route for the request's method and path with its path parameters, or else the 404 or
  // 405 to answer.
  struct RouteMatch {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    HttpResponse refusal;
  };
  RouteMatch Match(const HttpRequest& request) const;
  // The caller's token checked against the route's access rule; throws HttpError 401 or 403.
  RequestContext Authenticate(const HttpRequest& request, const Route& route) const;
  HttpResponse Dispatch(HttpRequest& request, const Route& route) const;

  TokenRegistry* tokens_;
  bool public_read_;
  std::vector<Route> routes_;
};

}  // namespace phytoflow
