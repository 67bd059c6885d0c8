#include "phytoflow/server/router.h"

#include "phytoflow/server/http_error.h"

#include <cctype>
#include <exception>

#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      segments.push_back(path.substr(start));
      break;
    }
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

// Matches `path` against `pattern`, filling `params` with the {name} segments. A trailing slash
// is significant (DEEPaaS routes have one, ours do not).
bool Matches(std::string_view pattern,
             std::string_view path,
             std::map<std::string, std::string>& params) {
  const auto pattern_segments = Segments(pattern);
  const auto path_segments = Segments(path);
  if (pattern_segments.size() != path_segments.size()) {
    return false;
  }
  std::map<std::string, std::string> found;
  for (size_t idx = 0; idx < pattern_segments.size(); ++idx) {
    const std::string_view expected = pattern_segments[idx];
    const std::string_view given = path_segments[idx];
    if (expected.size() > 2 && expected.front() == '{' && expected.back() == '}') {
      if (given.empty()) {
        return false;
      }
      found.emplace(std::string(expected.substr(1, expected.size() - 2)), std::string(given));
    } else if (expected != given) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t idx = 0; idx < prefix.size(); ++idx) {
    if (std::tolower(static_cast<unsigned char>(text[idx])) !=
        std::tolower(static_cast<unsigned char>(prefix[idx]))) {
      return false;
    }
  }
  return true;
}

// Adds the DEEPaaS error fields beside the standard "error" object.
HttpResponse WithErrorStyle(HttpResponse response, ErrorStyle style) {
  if (style != ErrorStyle::kDeepaas) {
    return response;
  }
  nlohmann::json body = nlohmann::json::parse(response.body);
  body["status"] = "error";
  body["message"] = body["error"]["message"];
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

// The error response for the exception being handled (call inside a catch block).
HttpResponse FailureResponse(ErrorStyle style) {
  try {
    throw;
  } catch (const HttpError& error) {
    return WithErrorStyle(ErrorResponse(error.Status(), error.Code(), error.what()), style);
  } catch (const Error& error) {
    return WithErrorStyle(
        ErrorResponse(
            StatusFor(error.Code()), std::string(ErrorCodeName(error.Code())), error.what()),
        style);
  } catch (const std::exception& error) {
    return WithErrorStyle(ErrorResponse(500, "internal", error.what()), style);
  } catch (...) {
    return WithErrorStyle(ErrorResponse(500, "internal", "unexpected failure"), style);
  }
}

}  // namespace

Router::Router(TokenRegistry* tokens, bool public_read)
    : tokens_(tokens), public_read_(public_read) {}

void Router::Add(const std::string& method,
                 const std::string& pattern,
                 Access access,
                 RouteHandler handler,
                 ErrorStyle error_style) {
  routes_.push_back(Route{.method = method,
                          .pattern = pattern,
                          .access = access,
                          .handler = std::move(handler),
                          .error_style = error_style});
}

Router::RouteMatch Router::Match(const HttpRequest& request) const {
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  std::string allowed;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!Matches(route.pattern, request.path, params)) {
      continue;
    }
    if (route.method != method) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    return RouteMatch{.route = &route, .params = std::move(params)};
  }
  if (!allowed.empty()) {
    HttpResponse response = ErrorResponse(
        405, "method_not_allowed", request.method + " is not allowed on " + request.path);
    response.SetHeader("Allow", allowed);
    return RouteMatch{.refusal = std::move(response)};
  }
  return RouteMatch{.refusal = ErrorResponse(404, "not_found", "no endpoint " + request.path)};
}

HttpResponse Router::Handle(HttpRequest request) const {
  RouteMatch match = Match(request);
  if (match.route == nullptr) {
    return std::move(match.refusal);
  }
  request.path_params = std::move(match.params);
  return Dispatch(request, *match.route);
}

std::optional<HttpResponse> Router::Authorize(const HttpRequest& head) const {
  RouteMatch match = Match(head);
  if (match.route == nullptr) {
    return std::move(match.refusal);
  }
  try {
    Authenticate(head, *match.route);
    return std::nullopt;
  } catch (...) {
    return FailureResponse(match.route->error_style);
  }
}

RequestContext Router::Authenticate(const HttpRequest& request, const Route& route) const {
  RequestContext context;
  const std::string authorization = request.Header("authorization");
  if (!authorization.empty()) {
    // A credential that is given must be good, even where none is needed.
    if (!StartsWithIgnoreCase(authorization, "Bearer ") || authorization.size() <= 7) {
      throw HttpError(401,
                      "unauthorized",
                      "Authorization: expected 'Bearer <token>' (see `phytoflow token create`)");
    }
    std::string_view secret = std::string_view(authorization).substr(7);
    while (!secret.empty() && secret.front() == ' ') {
      secret.remove_prefix(1);
    }
    const Authentication auth =
        tokens_ != nullptr ? tokens_->Authenticate(secret) : Authentication{};
    if (auth.outcome == Authentication::Outcome::kUnknown) {
      throw HttpError(401, "unauthorized", "unknown token");
    }
    if (auth.outcome == Authentication::Outcome::kRevoked) {
      throw HttpError(
          401,
          "unauthorized",
          "token " + std::to_string(auth.token.id) + " was revoked at " + auth.token.revoked_at);
    }
    context.token = auth.token;
  }

  std::optional<Role> needed;
  switch (route.access) {
    case Access::kPublic:
      break;
    case Access::kRead:
      if (!public_read_) {
        needed = Role::kViewer;
      }
      break;
    case Access::kAnnotator:
      needed = Role::kAnnotator;
      break;
    case Access::kAdmin:
      needed = Role::kAdmin;
      break;
  }
  if (needed && !context.token) {
    throw HttpError(401,
                    "unauthorized",
                    "this endpoint needs a token of role " + std::string(RoleName(*needed)) +
                        " or higher: send 'Authorization: Bearer <token>'");
  }
  if (needed && !RoleAllows(context.token->role, *needed)) {
    throw HttpError(403,
                    "forbidden",
                    "token '" + context.token->name + "' has role " +
                        std::string(RoleName(context.token->role)) + "; this endpoint needs " +
                        std::string(RoleName(*needed)) + " or higher");
  }
  return context;
}

HttpResponse Router::Dispatch(HttpRequest& request, const Route& route) const {
  try {
    const RequestContext context = Authenticate(request, route);
    return route.handler(request, context);
  } catch (...) {
    return FailureResponse(route.error_style);
  }
}

}  // namespace phytoflow
