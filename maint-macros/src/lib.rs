//! Handler attributes for [maint-actix](https://docs.rs/maint-actix):
//! `#[maintenance_off]` and `#[maintenance_on]`, django-maintenance-mode's
//! `@force_maintenance_mode_off` / `@force_maintenance_mode_on` for actix-web
//! handlers. Use them through `maint_actix` (they are re-exported there).
//!
//! Both turn the handler into a wrapper with the same name, so it registers
//! exactly as before: with a route macro (above or below it), by hand with
//! `web::get().to(handler)`, in a scope, with an explicit `name`.
//!
//! - `#[maintenance_on]`: the wrapper answers with the maintenance response; the
//!   handler's extractors and body never run.
//! - `#[maintenance_off]`: the wrapper runs the handler; the middleware lets
//!   its requests through during maintenance.
//!
//! When the attribute is above a route macro, it also registers, next to each
//! route, an unreachable *marker* route (`{path}/__maint__/{METHOD}`), so the
//! middleware can tell, before routing and for the exact scope and method,
//! that a request is for a marked handler.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::{
    Attribute, Expr, ExprLit, FnArg, Ident, ItemFn, Lit, LitStr, Token, punctuated::Punctuated,
};

/// The handler is always served, even during maintenance, whatever the
/// exemptions (Django's `@force_maintenance_mode_off`).
///
/// ```
/// use actix_web::{App, HttpResponse, get, test, web};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind, maintenance_off};
///
/// #[maintenance_off]
/// #[get("/about/")]
/// async fn about() -> HttpResponse {
///     HttpResponse::Ok().body("About")
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// let app = test::init_service(
///     App::new()
///         .service(about)
///         .route("/", web::get().to(|| async { HttpResponse::Ok().body("Home") }))
///         .wrap(maint.middleware()),
/// )
/// .await;
///
/// maint.set_maintenance_mode(true).await?;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/about/").to_request()).await;
/// assert_eq!(res.status(), 200);
/// let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
/// assert_eq!(res.status(), 503);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[proc_macro_attribute]
pub fn maintenance_off(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Force::Off, args.into(), item.into()).into()
}

/// The handler always gets the maintenance response, even when maintenance is
/// off; its extractors and body never run (Django's `@force_maintenance_mode_on`).
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind, maintenance_on};
///
/// #[maintenance_on]
/// #[get("/legacy/")]
/// async fn legacy() -> HttpResponse {
///     unreachable!("never runs")
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// // Maintenance is off and there is no middleware: the handler still answers
/// // with the maintenance response, built from the handle in the app data.
/// assert!(!maint.is_on());
/// let app = test::init_service(App::new().app_data(maint.clone()).service(legacy)).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/legacy/").to_request()).await;
/// assert_eq!(res.status(), 503);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[proc_macro_attribute]
pub fn maintenance_on(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Force::On, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Force {
    Off,
    On,
}

impl Force {
    fn attribute(self) -> &'static str {
        match self {
            Force::Off => "maintenance_off",
            Force::On => "maintenance_on",
        }
    }

    fn other(self) -> Force {
        match self {
            Force::Off => Force::On,
            Force::On => Force::Off,
        }
    }

    fn tokens(self) -> TokenStream2 {
        match self {
            Force::Off => quote!(::maint_actix::Force::Off),
            Force::On => quote!(::maint_actix::Force::On),
        }
    }
}

/// The standard methods of actix-web's route macros (`#[get]` and friends).
const METHOD_MACROS: &[&str] = &[
    "get", "post", "put", "delete", "head", "connect", "options", "trace", "patch", "query",
];

fn expand(force: Force, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    match try_expand(force, args, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the item, so that names it defines still resolve, but without
        // its route macros, whose own errors about it would bury ours.
        Err(error) => {
            let error = error.to_compile_error();
            let item = without_route_macros(item);
            quote!(#error #item)
        }
    }
}

fn without_route_macros(item: TokenStream2) -> TokenStream2 {
    let Ok(mut item_fn) = syn::parse2::<ItemFn>(item.clone()) else {
        return item;
    };
    let (routes, kept): (Vec<_>, Vec<_>) = item_fn
        .attrs
        .into_iter()
        .partition(|attr| method_macro(attr).is_some() || is_routes_group(attr));
    item_fn.attrs = kept;
    let imports = keep_imports_used(routes.iter());
    quote!(#imports #item_fn)
}

fn try_expand(force: Force, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let name = force.attribute();
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            format!("`#[{name}]` takes no arguments"),
        ));
    }
    let item_fn: ItemFn = syn::parse2(item.clone()).map_err(|_| {
        let span = item_start_span(&item);
        syn::Error::new(
            span,
            format!("`#[{name}]` can only be applied to an `async fn` handler"),
        )
    })?;
    check_signature(force, &item_fn)?;
    check_no_other_marking(force, &item_fn.attrs)?;

    let routes = RouteAttributes::split(force, &item_fn);
    let wrapper = match force {
        Force::Off => served_wrapper(&item_fn, &routes.kept),
        Force::On => answered_wrapper(&item_fn, &routes.kept),
    };
    let route_attrs = routes.emit();
    let registration = registration(force, &item_fn.sig.ident);
    Ok(quote! {
        #registration
        #route_attrs
        #wrapper
    })
}

/// Where a non-fn item starts, past its attributes: its visibility or keyword.
fn item_start_span(item: &TokenStream2) -> Span {
    let Ok(mut parsed) = syn::parse2::<syn::Item>(item.clone()) else {
        return Span::call_site();
    };
    if let Some(attrs) = item_attrs_mut(&mut parsed) {
        attrs.clear();
    }
    quote!(#parsed)
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}

fn item_attrs_mut(item: &mut syn::Item) -> Option<&mut Vec<Attribute>> {
    use syn::Item;
    Some(match item {
        Item::Const(i) => &mut i.attrs,
        Item::Enum(i) => &mut i.attrs,
        Item::ExternCrate(i) => &mut i.attrs,
        Item::ForeignMod(i) => &mut i.attrs,
        Item::Impl(i) => &mut i.attrs,
        Item::Macro(i) => &mut i.attrs,
        Item::Mod(i) => &mut i.attrs,
        Item::Static(i) => &mut i.attrs,
        Item::Struct(i) => &mut i.attrs,
        Item::Trait(i) => &mut i.attrs,
        Item::TraitAlias(i) => &mut i.attrs,
        Item::Type(i) => &mut i.attrs,
        Item::Union(i) => &mut i.attrs,
        Item::Use(i) => &mut i.attrs,
        _ => return None,
    })
}

fn check_signature(force: Force, item_fn: &ItemFn) -> syn::Result<()> {
    let name = force.attribute();
    let sig = &item_fn.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!("`#[{name}]` needs an `async fn`: actix-web handlers are async"),
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new_spanned(
            receiver,
            format!("`#[{name}]` cannot be used on a method; use a free `async fn` handler"),
        ));
    }
    let generic_message = format!("`#[{name}]` does not support generic handlers");
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&sig.generics, generic_message));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        return Err(syn::Error::new_spanned(where_clause, generic_message));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            format!("`#[{name}]` does not support variadic functions"),
        ));
    }
    Ok(())
}

/// Both attributes on one handler contradict each other; the same one twice is a slip.
fn check_no_other_marking(force: Force, attrs: &[Attribute]) -> syn::Result<()> {
    for attr in attrs {
        let Some(last) = attr.path().segments.last() else {
            continue;
        };
        if last.ident == force.other().attribute() {
            return Err(syn::Error::new_spanned(
                attr,
                "a handler cannot be both `#[maintenance_off]` and `#[maintenance_on]`",
            ));
        }
        if last.ident == force.attribute() {
            return Err(syn::Error::new_spanned(
                attr,
                format!("duplicate `#[{}]`", force.attribute()),
            ));
        }
    }
    Ok(())
}

/// The handler's attributes, with the route macros it carries (when the marking
/// is above them) taken apart so that marker routes can be added.
struct RouteAttributes {
    force: Force,
    fn_name: Ident,
    /// The route macros, e.g. `#[get("/about/", name = "x")]`, as written.
    routes: Vec<Attribute>,
    /// The user's own `#[routes]`, if any.
    routes_group: Option<Attribute>,
    /// Every other attribute (docs, lints, `#[route]`...), kept as written.
    kept: Vec<Attribute>,
}

impl RouteAttributes {
    fn split(force: Force, item_fn: &ItemFn) -> Self {
        let mut routes = Vec::new();
        let mut routes_group = None;
        let mut kept = Vec::new();
        for attr in &item_fn.attrs {
            if method_macro(attr).is_some() {
                routes.push(attr.clone());
            } else if is_routes_group(attr) {
                routes_group = Some(attr.clone());
            } else {
                kept.push(attr.clone());
            }
        }
        Self {
            force,
            fn_name: item_fn.sig.ident.clone(),
            routes,
            routes_group,
            kept,
        }
    }

    /// `#[routes]` with a marker route ahead of each route, or nothing when the
    /// handler carries no route macro (it is registered by hand, or the route
    /// macro is above and has already run).
    fn emit(&self) -> TokenStream2 {
        let arguments_parse = self.routes.iter().all(|route| route_path(route).is_some());
        if self.routes.is_empty() || !arguments_parse {
            // Left as written, so the route macros report their own errors, once.
            let group = &self.routes_group;
            let routes = &self.routes;
            return quote!(#group #(#routes)*);
        }
        let mut attrs = vec![quote!(#[::actix_web::routes])];
        for (index, route) in self.routes.iter().enumerate() {
            if let Some(marker) = self.marker_route(index, route) {
                attrs.push(marker);
            }
            attrs.push(bare_method_attribute(route));
        }
        let imports = self.keep_imports_used();
        quote!(#imports #(#attrs)*)
    }

    /// `#[routes]` recognises its routes by their bare names and never resolves
    /// them, so the user's `use actix_web::{get, routes}` would look unused (and
    /// a missing import would go unnoticed): refer to each path as written.
    fn keep_imports_used(&self) -> TokenStream2 {
        keep_imports_used(self.routes.iter().chain(&self.routes_group))
    }

    fn marker_route(&self, index: usize, route: &Attribute) -> Option<TokenStream2> {
        let method = method_macro(route)?;
        let path = route_path(route)?;
        let upper = method.to_string().to_ascii_uppercase();
        let marker_path = LitStr::new(&format!("{}/__maint__/{upper}", path.value()), path.span());
        let kind = match self.force {
            Force::Off => "off",
            Force::On => "on",
        };
        let marker_name = LitStr::new(
            &format!("__maint_{kind}__{}__{index}", self.fn_name),
            path.span(),
        );
        Some(quote_spanned! {path.span()=>
            #[#method(#marker_path, name = #marker_name, guard = "::maint_actix::__private::never")]
        })
    }
}

/// The path literal of a route macro, when its arguments parse.
fn route_path(route: &Attribute) -> Option<LitStr> {
    let args = route
        .parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()?;
    let all_named = args
        .iter()
        .skip(1)
        .all(|arg| matches!(arg, Expr::Assign(_)));
    match args.first() {
        Some(Expr::Lit(ExprLit {
            lit: Lit::Str(path),
            ..
        })) if all_named => Some(path.clone()),
        _ => None,
    }
}

/// Refers to the path of each attribute, as written, so that its import counts as used.
fn keep_imports_used<'a>(attrs: impl Iterator<Item = &'a Attribute>) -> TokenStream2 {
    let paths = attrs.map(Attribute::path);
    quote! {
        #(
            const _: () = {
                #[allow(unused_imports)]
                use #paths as _;
            };
        )*
    }
}

/// `#[actix_web::get(...)]` as `#[get(...)]`, the form `#[routes]` reads, keeping
/// the spans of the arguments so the route macro's errors point at them.
fn bare_method_attribute(route: &Attribute) -> TokenStream2 {
    let Some(method) = method_macro(route) else {
        return quote!(#route);
    };
    match &route.meta {
        syn::Meta::List(list) => {
            let mut group =
                proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, list.tokens.clone());
            group.set_span(list.delimiter.span().join());
            let pound = route.pound_token;
            let mut bracketed =
                proc_macro2::Group::new(proc_macro2::Delimiter::Bracket, quote!(#method #group));
            bracketed.set_span(route.bracket_token.span.join());
            quote!(#pound #bracketed)
        }
        _ => quote!(#route),
    }
}

/// `get`, `actix_web::get`, ...: the method macro's ident, if `attr` is one.
fn method_macro(attr: &Attribute) -> Option<Ident> {
    let last = attr.path().segments.last()?;
    METHOD_MACROS
        .iter()
        .any(|method| last.ident == method)
        .then(|| Ident::new(&last.ident.to_string(), last.ident.span()))
}

fn is_routes_group(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "routes")
}

/// Records the marking in the binary, so the middleware knows marked handlers exist.
fn registration(force: Force, fn_name: &Ident) -> TokenStream2 {
    let force = force.tokens();
    let handler = fn_name.to_string();
    quote! {
        ::maint_actix::__private::inventory::submit! {
            ::maint_actix::__private::MarkedHandler {
                force: #force,
                handler: ::core::concat!(::core::module_path!(), "::", #handler),
            }
        }
    }
}

/// The handler as written, renamed, with the lint attributes that govern its body.
fn renamed_original(item_fn: &ItemFn, kept: &[Attribute]) -> ItemFn {
    let mut original = item_fn.clone();
    original.attrs = kept.iter().filter(|attr| is_lint(attr)).cloned().collect();
    original.sig.ident = format_ident!("__maint_original");
    original
}

fn is_lint(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "expect", "forbid"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

/// `#[maintenance_on]`: a handler that answers with the maintenance response.
/// The original stays, unused, so it is still type-checked.
fn answered_wrapper(item_fn: &ItemFn, kept: &[Attribute]) -> TokenStream2 {
    let vis = &item_fn.vis;
    let ident = &item_fn.sig.ident;
    let original = renamed_original(item_fn, kept);
    quote! {
        #(#kept)*
        #vis async fn #ident(
            __maint_request: ::maint_actix::__private::HttpRequest,
        ) -> ::maint_actix::__private::HttpResponse {
            #[allow(dead_code)]
            #original
            ::maint_actix::__private::forced_on_response(&__maint_request)
        }
    }
}

/// `#[maintenance_off]`: the handler, taking the request as well so it can
/// tell the middleware which route it serves.
fn served_wrapper(item_fn: &ItemFn, kept: &[Attribute]) -> TokenStream2 {
    let vis = &item_fn.vis;
    let ident = &item_fn.sig.ident;
    let output = &item_fn.sig.output;
    let original = renamed_original(item_fn, kept);
    let (params, args): (Vec<_>, Vec<_>) = item_fn
        .sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(index, input)| match input {
            FnArg::Typed(typed) => {
                let arg = format_ident!("__maint_arg{index}");
                let ty = &typed.ty;
                Some((quote!(#arg: #ty), arg))
            }
            FnArg::Receiver(_) => None,
        })
        .unzip();
    quote! {
        #(#kept)*
        #vis async fn #ident(
            __maint_request: ::maint_actix::__private::HttpRequest,
            #(#params),*
        ) #output {
            #original
            ::maint_actix::__private::learn_route(&__maint_request, ::maint_actix::Force::Off);
            __maint_original(#(#args),*).await
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse::Parser;

    use super::*;

    #[test]
    fn marker_routes_precede_each_route() {
        let item: ItemFn = syn::parse_quote! {
            #[get("/about/", name = "info")]
            async fn about() -> String { String::new() }
        };
        let routes = RouteAttributes::split(Force::Off, &item);
        let emitted = routes.emit().to_string();
        let marker = emitted.find("/about//__maint__/GET").unwrap();
        let route = emitted.find("\"/about/\" , name = \"info\"").unwrap();
        assert!(emitted.contains("# [:: actix_web :: routes]"), "{emitted}");
        assert!(emitted.contains("use get as _"), "{emitted}");
        assert!(marker < route, "{emitted}");
        assert!(emitted.contains("__maint_off__about__0"), "{emitted}");
    }

    #[test]
    fn handler_without_route_macro_gets_no_markers() {
        let item: ItemFn = syn::parse_quote! {
            /// Docs stay.
            async fn about() -> String { String::new() }
        };
        let routes = RouteAttributes::split(Force::On, &item);
        assert!(routes.emit().is_empty());
        assert_eq!(routes.kept.len(), 1);
    }

    #[test]
    fn parser_accepts_no_arguments_only() {
        let error = try_expand(
            Force::Off,
            quote!(x),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(error.to_string().contains("takes no arguments"));
        let _ = Punctuated::<Expr, Token![,]>::parse_terminated
            .parse2(quote!("/a", name = "b"))
            .unwrap();
    }
}
