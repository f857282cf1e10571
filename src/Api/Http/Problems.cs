using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Infrastructure.Database;
using Microsoft.AspNetCore.Mvc;

namespace Aetherra.Api;

/// <summary>
/// RFC 9457 answers, and the one place that decides which exception means which status. Anything not
/// listed here is a fault of ours (500, logged, no details leaked).
/// </summary>
public static class Problems
{
    public const string ReasonItem = "aetherra.reason";

    public static Task Write(HttpContext context, int status, string title, string? detail,
        IDictionary<string, object?>? extensions = null)
    {
        context.Items[ReasonItem] = detail ?? title;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Instance = context.Request.Path };
        if (extensions is not null)
            foreach (var (k, v) in extensions) problem.Extensions[k] = v;
        return Results.Problem(problem).ExecuteAsync(context);
    }

    /// <summary>Maps a known exception to its answer; false for faults of ours.</summary>
    public static bool TryMap(Exception exception, HttpContext context, out Func<Task> write)
    {
        write = () => Task.CompletedTask;
        switch (exception)
        {
            case NotFound e:
                write = () => Write(context, 404, "Not found", e.Message);
                return true;
            case Domain.Changes.GatesMissing e:
                write = () => Write(context, 422, "Gates not passed", e.Message, new Dictionary<string, object?>
                {
                    ["missingGates"] = e.Gates.Select(g => new { gate = g.Gate, reason = g.Reason }).ToList()
                });
                return true;
            case VersionConflict e:
                write = () => Write(context, 409, "Version conflict", e.Message,
                    new Dictionary<string, object?> { ["currentVersion"] = e.CurrentVersion });
                return true;
            case Domain.Plugins.PluginNotEnabled e:
                write = () => Write(context, 409, "Plugin not enabled", e.Message);
                return true;
            case Application.Plugins.PluginCallFailed e:
                write = () => Write(context, e.Status, e.Status == 504 ? "Plugin timed out" : "Plugin failed", e.Message,
                    new Dictionary<string, object?> { ["errorClass"] = e.ErrorClass, ["invocationId"] = e.InvocationId, ["sequence"] = e.Sequence });
                return true;
            case DomainRuleViolated e:
                write = () => Write(context, 422, "Domain rule violated", e.Message);
                return true;
            case NotYetConsistent e:
                write = () =>
                {
                    context.Response.Headers.RetryAfter = "1";
                    return Write(context, 503, "Read model not yet consistent", e.Message,
                        new Dictionary<string, object?> { ["minSequence"] = e.MinSequence });
                };
                return true;
            case BadHttpRequestException e:
                write = () => Write(context, e.StatusCode, e.StatusCode == 413 ? "Request too large" : "Bad request", e.Message);
                return true;
            case JsonException e:
                write = () => Write(context, 400, "Invalid JSON", e.Message);
                return true;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                write = () =>
                {
                    context.Response.StatusCode = 499;
                    return Task.CompletedTask;
                };
                return true;
        }
        if (StoreFailures.IsUnavailable(exception))
        {
            write = () =>
            {
                context.Response.Headers.RetryAfter = "5";
                return Write(context, 503, "Store unavailable", "The event store cannot be reached; retry shortly.");
            };
            return true;
        }
        return false;
    }
}
