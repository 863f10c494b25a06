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
/// ```ignore
/// use actix_web::{get, HttpResponse};
/// use maint_actix::maintenance_off;
///
/// #[maintenance_off]
/// #[get("/about/")]
/// async fn about() -> HttpResponse {
///     HttpResponse::Ok().body("About")
/// }
/// ```
#[proc_macro_attribute]
pub fn maintenance_off(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Force::Off, args.into(), item.into()).into()
}

/// The handler always gets the maintenance response, even when maintenance is
/// off; its extractors and body never run (Django's `@force_maintenance_mode_on`).
///
/// ```ignore
/// use actix_web::{get, HttpResponse};
/// use maint_actix::maintenance_on;
///
/// #[maintenance_on]
/// #[get("/legacy/")]
/// async fn legacy() -> HttpResponse {
///     unreachable!("never runs")
/// }
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
    "get", "post", "put", "delete", "head", "connect", "options", "trace", "patch",
];

fn expand(force: Force, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    match try_expand(force, args, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the item so that the only error the user sees is ours.
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#error #item)
        }
    }
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
        let span = first_token_span(&item);
        syn::Error::new(
            span,
            format!("`#[{name}]` can only be applied to an `async fn` handler"),
        )
    })?;
    check_signature(force, &item_fn)?;
    check_no_other_marking(force, &item_fn.attrs)?;

    let routes = RouteAttributes::split(force, &item_fn)?;
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

fn first_token_span(item: &TokenStream2) -> Span {
    item.clone()
        .into_iter()
        .find(|tree| !matches!(tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .map_or_else(Span::call_site, |tree| tree.span())
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
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("`#[{name}]` does not support generic handlers"),
        ));
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
    /// `(method macro ident, args)` of each route, e.g. `get("/about/", name = "x")`.
    routes: Vec<(Ident, Punctuated<Expr, Token![,]>)>,
    /// Every other attribute (docs, lints, `#[route]`...), kept as written.
    kept: Vec<Attribute>,
}

impl RouteAttributes {
    fn split(force: Force, item_fn: &ItemFn) -> syn::Result<Self> {
        let mut routes = Vec::new();
        let mut kept = Vec::new();
        for attr in &item_fn.attrs {
            match method_macro(attr) {
                Some(method) => {
                    let args = attr.parse_args_with(Punctuated::parse_terminated)?;
                    routes.push((method, args));
                }
                None if is_routes_group(attr) => {}
                None => kept.push(attr.clone()),
            }
        }
        Ok(Self {
            force,
            fn_name: item_fn.sig.ident.clone(),
            routes,
            kept,
        })
    }

    /// `#[routes]` with a marker route ahead of each route, or nothing when the
    /// handler carries no route macro (it is registered by hand, or the route
    /// macro is above and has already run).
    fn emit(&self) -> TokenStream2 {
        if self.routes.is_empty() {
            return TokenStream2::new();
        }
        let mut attrs = vec![quote!(#[::actix_web::routes])];
        for (index, (method, args)) in self.routes.iter().enumerate() {
            if let Some(marker) = self.marker_route(index, method, args) {
                attrs.push(marker);
            }
            attrs.push(quote!(#[#method(#args)]));
        }
        quote!(#(#attrs)*)
    }

    fn marker_route(
        &self,
        index: usize,
        method: &Ident,
        args: &Punctuated<Expr, Token![,]>,
    ) -> Option<TokenStream2> {
        let Some(Expr::Lit(ExprLit {
            lit: Lit::Str(path),
            ..
        })) = args.first()
        else {
            // Not a path literal: leave the route macro to report it.
            return None;
        };
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
            #[allow(dead_code, unused_variables, unused_mut, clippy::all)]
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
        let routes = RouteAttributes::split(Force::Off, &item).unwrap();
        let emitted = routes.emit().to_string();
        let marker = emitted.find("/about//__maint__/GET").unwrap();
        let route = emitted.find("\"/about/\" , name = \"info\"").unwrap();
        assert!(
            emitted.starts_with("# [:: actix_web :: routes]"),
            "{emitted}"
        );
        assert!(marker < route, "{emitted}");
        assert!(emitted.contains("__maint_off__about__0"), "{emitted}");
    }

    #[test]
    fn handler_without_route_macro_gets_no_markers() {
        let item: ItemFn = syn::parse_quote! {
            /// Docs stay.
            async fn about() -> String { String::new() }
        };
        let routes = RouteAttributes::split(Force::On, &item).unwrap();
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
