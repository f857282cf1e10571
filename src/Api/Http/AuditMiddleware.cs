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
public sealed class AuditMiddleware(RequestDelegate next, IDocumentStore store, TimeProvider clock, ILogger<AuditMiddleware> log)
{
    private const string Item = "aetherra.command";

    public async Task InvokeAsync(HttpContext context)
    {
        var action = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (!IsCommand(context.Request.Method) || action is null || QueryOverPost.IsQuery(context) || context.User.Identity?.IsAuthenticated != true)
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
