//! The expansion of `#[maintenance_off]` / `#[maintenance_on]`.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{Attribute, ItemFn};

use crate::route::{Routes, is_route_macro};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Force {
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
            Force::Off => quote!(::maint_actix::marked::Force::Off),
            Force::On => quote!(::maint_actix::marked::Force::On),
        }
    }
}

pub(crate) fn expand(force: Force, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
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

/// The item without the route macros and markings that would report errors
/// of their own about it, keeping their imports used.
fn without_route_macros(item: TokenStream2) -> TokenStream2 {
    let Ok(mut item_fn) = syn::parse2::<ItemFn>(item.clone()) else {
        return item;
    };
    let imports = keep_imports_used(
        item_fn
            .attrs
            .iter()
            .filter(|attr| is_route_macro(attr) || is_marking(attr)),
    );
    item_fn
        .attrs
        .retain(|attr| !is_route_macro(attr) && !is_marking(attr));
    quote!(#imports #item_fn)
}

fn is_marking(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|last| {
        last.ident == Force::Off.attribute() || last.ident == Force::On.attribute()
    })
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

    match (force, Routes::of(&item_fn.attrs)) {
        (Force::Off, Routes::None) => Err(syn::Error::new(
            Span::call_site(),
            "`#[maintenance_off]` must be written above the handler's route macro \
             (`#[get(\"/path\")]`, `#[route(..)]`, `#[routes]`), so the middleware knows the route \
             from the first request; for a route registered by hand, register \
             `maint_actix::marked::off(\"/path\")` next to it instead",
        )),
        // The route macros report their own errors; the handler stays as written.
        (Force::Off, Routes::Unreadable) => Ok(quote!(#item_fn)),
        (Force::On, Routes::None | Routes::Unreadable) => Ok(answered(&item_fn)),
        (force, Routes::Found(routes)) => Ok(marked_service(force, &item_fn, &routes)),
    }
}

/// The service the route macros make, under the same name, registering the
/// marker routes before the routes themselves. The handler, route macros
/// and all, is defined inside, exactly as written.
fn marked_service(force: Force, item_fn: &ItemFn, routes: &[crate::route::Route]) -> TokenStream2 {
    let vis = &item_fn.vis;
    let ident = &item_fn.sig.ident;
    let outer: Vec<&Attribute> = item_fn
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc") || is_cfg(attr))
        .collect();
    let cfgs = item_fn.attrs.iter().filter(|attr| is_cfg(attr));
    let mut handler = match force {
        Force::Off => item_fn.clone(),
        Force::On => syn::parse2(answered(item_fn)).expect("the wrapper is a fn"),
    };
    handler.vis = syn::Visibility::Inherited;
    let markers = routes.iter().map(|route| {
        let path = &route.path;
        let methods = &route.methods;
        quote!((#path, &[#(#methods),*]))
    });
    let force = force.tokens();
    let imports = keep_imports_used(item_fn.attrs.iter().filter(|attr| is_route_macro(attr)));
    quote! {
        #imports
        #(#outer)*
        #[allow(non_camel_case_types)]
        #vis struct #ident;

        #(#cfgs)*
        impl ::maint_actix::__private::HttpServiceFactory for #ident {
            fn register(self, __maint_config: &mut ::maint_actix::__private::AppService) {
                ::maint_actix::__private::register_markers(__maint_config, #force, &[#(#markers),*]);
                #handler
                ::maint_actix::__private::HttpServiceFactory::register(#ident, __maint_config);
            }
        }
    }
}

/// Refers to the path of each attribute, as written, so that its import counts
/// as used: `#[routes]` recognises its method macros by their bare names and
/// never resolves them, and an item re-emitted after an error has lost them.
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

fn is_cfg(attr: &Attribute) -> bool {
    attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr")
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

/// The handler as written, renamed, with the lint attributes that govern its body.
fn renamed_original(item_fn: &ItemFn) -> ItemFn {
    let mut original = item_fn.clone();
    original.attrs.retain(is_lint);
    original.sig.ident = format_ident!("__maint_original");
    original
}

fn is_lint(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "expect", "forbid"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

/// `#[maintenance_on]`: a handler that answers with the maintenance response,
/// keeping every attribute (route macros too). The original stays, unused, so
/// it is still type-checked.
fn answered(item_fn: &ItemFn) -> TokenStream2 {
    let attrs = &item_fn.attrs;
    let vis = &item_fn.vis;
    let ident = &item_fn.sig.ident;
    let original = renamed_original(item_fn);
    quote! {
        #(#attrs)*
        #vis async fn #ident(
            __maint_request: ::maint_actix::__private::HttpRequest,
        ) -> ::maint_actix::__private::HttpResponse {
            #[allow(dead_code)]
            #original
            ::maint_actix::__private::forced_on_response(&__maint_request)
        }
    }
}
