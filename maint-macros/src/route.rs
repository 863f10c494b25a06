//! Reading the route macros a marked handler carries: which paths and methods
//! its marker routes must cover.

use syn::{Attribute, Expr, ExprAssign, ExprLit, Lit, LitStr, Token, punctuated::Punctuated};

/// The method macros of actix-web (`#[get]` and friends), which `#[routes]` groups.
const METHOD_MACROS: &[&str] = &[
    "get", "post", "put", "delete", "head", "connect", "options", "trace", "patch",
];

/// One route of the handler: its path pattern and methods.
pub(crate) struct Route {
    pub(crate) path: LitStr,
    pub(crate) methods: Vec<LitStr>,
}

/// What the handler's attributes say about its routes.
pub(crate) enum Routes {
    /// No route macro: the handler is registered by hand (or the route macro
    /// is above the marking and has already run).
    None,
    /// Route macros whose arguments do not parse: they report their own errors.
    Unreadable,
    /// The routes, in the order written.
    Found(Vec<Route>),
}

impl Routes {
    pub(crate) fn of(attrs: &[Attribute]) -> Self {
        let mut routes = Vec::new();
        let mut any = false;
        for attr in attrs {
            if is_routes_group(attr) {
                any = true;
                continue;
            }
            let Some(kind) = route_macro(attr) else {
                continue;
            };
            any = true;
            match read_route(attr, &kind) {
                Some(route) => routes.push(route),
                None => return Self::Unreadable,
            }
        }
        match (any, routes.is_empty()) {
            (false, _) => Self::None,
            // A lone `#[routes]` is an error of its own.
            (true, true) => Self::Unreadable,
            (true, false) => Self::Found(routes),
        }
    }
}

/// Whether `attr` is a route macro: `get`, `actix_web::post`, `route`...
pub(crate) fn is_route_macro(attr: &Attribute) -> bool {
    route_macro(attr).is_some() || is_routes_group(attr)
}

/// The method macro's upper-cased method, or `None` for `#[route]`'s own list.
enum RouteMacro {
    Method(String),
    Route,
}

fn route_macro(attr: &Attribute) -> Option<RouteMacro> {
    let name = attr.path().segments.last()?.ident.to_string();
    if name == "route" {
        return Some(RouteMacro::Route);
    }
    METHOD_MACROS
        .contains(&name.as_str())
        .then(|| RouteMacro::Method(name.to_ascii_uppercase()))
}

fn is_routes_group(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "routes")
}

/// The path literal and methods of one route macro, when its arguments are
/// a string literal followed by `key = value` pairs.
fn read_route(attr: &Attribute, kind: &RouteMacro) -> Option<Route> {
    let args = attr
        .parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let Some(Expr::Lit(ExprLit {
        lit: Lit::Str(path),
        ..
    })) = args.next()
    else {
        return None;
    };
    let mut methods = match kind {
        RouteMacro::Method(method) => vec![LitStr::new(method, path.span())],
        RouteMacro::Route => Vec::new(),
    };
    for arg in args {
        let Expr::Assign(assign) = arg else {
            return None;
        };
        if let Some(method) = method_argument(&assign) {
            methods.push(method);
        }
    }
    // `#[route]` without a method is refused by the route macro itself.
    (!methods.is_empty()).then_some(Route { path, methods })
}

/// `method = "GET"` of `#[route]`.
fn method_argument(assign: &ExprAssign) -> Option<LitStr> {
    let Expr::Path(key) = &*assign.left else {
        return None;
    };
    if !key.path.is_ident("method") {
        return None;
    }
    match &*assign.right {
        Expr::Lit(ExprLit {
            lit: Lit::Str(method),
            ..
        }) => Some(method.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use syn::{ItemFn, parse_quote};

    use super::*;

    fn routes(item: ItemFn) -> Vec<(String, Vec<String>)> {
        match Routes::of(&item.attrs) {
            Routes::Found(routes) => routes
                .into_iter()
                .map(|r| {
                    (
                        r.path.value(),
                        r.methods.iter().map(LitStr::value).collect(),
                    )
                })
                .collect(),
            Routes::None => panic!("no routes"),
            Routes::Unreadable => panic!("unreadable"),
        }
    }

    #[test]
    fn method_macros_route_and_routes_are_read() {
        let item: ItemFn = parse_quote! {
            #[routes]
            #[get("/a", name = "x")]
            #[actix_web::post("/b")]
            async fn f() {}
        };
        assert_eq!(
            routes(item),
            [
                ("/a".into(), vec!["GET".into()]),
                ("/b".into(), vec!["POST".into()])
            ]
        );
        let item: ItemFn = parse_quote! {
            #[route("/c", method = "GET", method = "CUSTOM", name = "c")]
            async fn f() {}
        };
        assert_eq!(
            routes(item),
            [("/c".into(), vec!["GET".into(), "CUSTOM".into()])]
        );
    }

    #[test]
    fn no_route_macro_and_unreadable_arguments_are_told_apart() {
        let bare: ItemFn = parse_quote!(
            async fn f() {}
        );
        assert!(matches!(Routes::of(&bare.attrs), Routes::None));
        let bad: ItemFn = parse_quote! {
            #[get("/x", bad)]
            async fn f() {}
        };
        assert!(matches!(Routes::of(&bad.attrs), Routes::Unreadable));
        let lone: ItemFn = parse_quote! {
            #[routes]
            async fn f() {}
        };
        assert!(matches!(Routes::of(&lone.attrs), Routes::Unreadable));
    }
}
