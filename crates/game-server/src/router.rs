//! The route table: which path exists, and the one method each accepts.

use hyper::Method;

use crate::response::ApiError;

/// Every endpoint the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/register`
    Register,
    /// `POST /api/login`
    Login,
    /// `POST /api/logout`
    Logout,
    /// `GET /api/session`
    Session,
    /// `GET /api/world` (optionally `?since=V`)
    World,
    /// `GET /api/world/events`
    WorldEvents,
    /// `GET /api/user-stats`
    UserStats,
    /// `GET /api/ship-stats`
    ShipStats,
    /// `GET /api/techtree`
    TechTree,
    /// `POST /api/trigger-research`
    TriggerResearch,
    /// `POST /api/navigate`
    Navigate,
    /// `POST /api/collect`
    Collect,
    /// `GET /api/openapi.json`
    OpenApi,
    /// `GET /healthz`
    Healthz,
    /// `GET /readyz`
    Readyz,
    /// `GET /metrics`
    Metrics,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 16] = [
        Route::Register,
        Route::Login,
        Route::Logout,
        Route::Session,
        Route::World,
        Route::WorldEvents,
        Route::UserStats,
        Route::ShipStats,
        Route::TechTree,
        Route::TriggerResearch,
        Route::Navigate,
        Route::Collect,
        Route::OpenApi,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
    ];

    /// The route's path (also its metrics label).
    pub fn path(self) -> &'static str {
        match self {
            Route::Register => "/api/register",
            Route::Login => "/api/login",
            Route::Logout => "/api/logout",
            Route::Session => "/api/session",
            Route::World => "/api/world",
            Route::WorldEvents => "/api/world/events",
            Route::UserStats => "/api/user-stats",
            Route::ShipStats => "/api/ship-stats",
            Route::TechTree => "/api/techtree",
            Route::TriggerResearch => "/api/trigger-research",
            Route::Navigate => "/api/navigate",
            Route::Collect => "/api/collect",
            Route::OpenApi => "/api/openapi.json",
            Route::Healthz => "/healthz",
            Route::Readyz => "/readyz",
            Route::Metrics => "/metrics",
        }
    }

    /// The one method the route accepts.
    pub fn method(self) -> Method {
        match self {
            Route::Register
            | Route::Login
            | Route::Logout
            | Route::TriggerResearch
            | Route::Navigate
            | Route::Collect => Method::POST,
            _ => Method::GET,
        }
    }

    /// The route serving `path`, if any.
    pub fn from_path(path: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.path() == path)
    }
}

/// Finds the route for a request: 404 for an unknown path, 405 (with `Allow`) for a known
/// path with another method.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let route = Route::from_path(path).ok_or_else(ApiError::not_found)?;
    if *method == route.method() {
        Ok(route)
    } else if route.method() == Method::POST {
        Err(ApiError::method_not_allowed("POST"))
    } else {
        Err(ApiError::method_not_allowed("GET"))
    }
}

#[cfg(test)]
mod tests {
    use hyper::StatusCode;

    use super::*;

    #[test]
    fn every_route_is_found_by_its_own_path_and_method() {
        for route in Route::ALL {
            assert_eq!(super::route(&route.method(), route.path()), Ok(route));
        }
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        let missing = route(&Method::GET, "/api/nope").expect_err("404");
        assert_eq!(
            (missing.status, missing.code),
            (StatusCode::NOT_FOUND, "not_found")
        );
        assert!(route(&Method::GET, "/api/world/").is_err());
        let wrong = route(&Method::GET, "/api/collect").expect_err("405");
        assert_eq!(
            (wrong.status, wrong.code, wrong.allow),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                Some("POST")
            )
        );
        let wrong = route(&Method::DELETE, "/api/world").expect_err("405");
        assert_eq!(wrong.allow, Some("GET"));
    }
}
