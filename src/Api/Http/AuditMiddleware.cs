using Aetherra.Api.Auth;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Marten;
using Microsoft.AspNetCore.WebUtilities;

namespace Aetherra.Api.Http;

/// <summary>
/// Gives every authenticated command (POST, PUT, DELETE) its <see cref="CommandContext"/>, and records the
/// commands that end without their accepted audit record: refused by authorisation, validation, a
/// concurrency check or a domain rule, or failed. Accepted commands record themselves inside their own
/// transaction (Sessions.CommitAsync), so an accepted command and its audit commit together.
/// </summary>
public sealed class AuditMiddleware(
    RequestDelegate next, IDocumentStore store, TimeProvider clock, EndpointDataSource endpoints, ILogger<AuditMiddleware> log)
{
    private const string Item = "aetherra.command";
    // Routing's own endpoint for a body of a media type the route does not accept (AcceptsMatcherPolicy).
    private const string UnsupportedMediaTypeEndpoint = "415 HTTP Unsupported Media Type";

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        // Routing answers a wrong Content-Type with an endpoint of its own, which names no command: the command
        // the request was for is found by its path, so the 415 is audited as that command's refusal.
        if (endpoint?.DisplayName == UnsupportedMediaTypeEndpoint && IsCommand(context.Request.Method))
            endpoint = Intended(context);
        var action = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (!IsCommand(context.Request.Method) || action is null || endpoint!.Metadata.GetMetadata<QueryOverPostAttribute>() is not null
            || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        var command = new CommandContext(context.User.KeyId(), context.User.Tenant(), RequestIdMiddleware.RequestId(context), action);
        context.Items[Item] = command;
        var status = 500;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            if (!command.Audited) await RecordEndingAsync(context, command, status);
        }
    }

    /// <summary>The named route of this method whose pattern matches the path (its route values filled in).</summary>
    private RouteEndpoint? Intended(HttpContext context)
    {
        // Most specific pattern first, as routing would choose ("/memories/consolidate" before "/memories/{id}").
        foreach (var candidate in endpoints.Endpoints.OfType<RouteEndpoint>()
                     .OrderBy(e => Microsoft.AspNetCore.Routing.Template.RoutePrecedence.ComputeInbound(
                         Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(e.RoutePattern.RawText!.TrimStart('/')))))
        {
            if (candidate.Metadata.GetMetadata<IEndpointNameMetadata>() is null
                || candidate.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(context.Request.Method) != true)
                continue;
            var values = new RouteValueDictionary();
            var matcher = new Microsoft.AspNetCore.Routing.Template.TemplateMatcher(
                Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(candidate.RoutePattern.RawText!.TrimStart('/')), new RouteValueDictionary());
            if (!matcher.TryMatch(context.Request.Path, values)) continue;
            foreach (var (k, v) in values) context.Request.RouteValues[k] = v;
            return candidate;
        }
        return null;
    }

    public static CommandContext Command(HttpContext context) =>
        context.Items[Item] as CommandContext ?? throw new InvalidOperationException("this route is not an audited command");

    private async Task RecordEndingAsync(HttpContext context, CommandContext command, int status)
    {
        var target = context.Request.RouteValues.TryGetValue("id", out var id) ? id?.ToString()
            : context.Request.RouteValues.TryGetValue("subject", out var subject) ? subject?.ToString() : null;
        // A refused request can name what no store takes (a NUL in the path): the record keeps the rest.
        if (target is not null && !InputText.IsStorable(target)) target = null;
        var reason = context.Items[Problems.ReasonItem] as string ?? ReasonPhrases.GetReasonPhrase(status);
        try
        {
            await AuditTrail.RecordEndingAsync(store, command, target, status, reason, clock.GetUtcNow(), CancellationToken.None);
        }
        catch (Exception e)
        {
            // The store is most likely down (that is often why the command failed): the log keeps the trace.
            log.LogError(e, "Could not record the audit of {Action} ({Status}) for request {RequestId}", command.Action, status, command.RequestId);
        }
    }

    private static bool IsCommand(string method) => HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);
}

public static class CommandContextExtensions
{
    public static CommandContext Command(this HttpContext context) => AuditMiddleware.Command(context);
}
