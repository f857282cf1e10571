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
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            write = () =>
            {
                context.Response.StatusCode = 499;
                return Task.CompletedTask;
            };
            return true;
        }
        if (Describe(exception) is not { } problem) return false;
        write = () =>
        {
            if (problem.RetryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString();
            return Write(context, problem.Status, problem.Title, problem.Detail, problem.Extensions);
        };
        return true;
    }

    /// <summary>
    /// The problem a known exception stands for, whatever the channel (HTTP answers it, MCP returns it as a tool
    /// error); null for faults of ours.
    /// </summary>
    public static Problem? Describe(Exception exception) => exception switch
    {
        NotFound e => new(404, "Not found", e.Message),
        Forbidden e => new(403, "Forbidden", e.Message),
        Domain.Changes.GatesMissing e => new(422, "Gates not passed", e.Message, new Dictionary<string, object?>
        {
            ["missingGates"] = e.Gates.Select(g => new { gate = g.Gate, reason = g.Reason }).ToList()
        }),
        VersionConflict e => new(409, "Version conflict", e.Message,
            new Dictionary<string, object?> { ["currentVersion"] = e.CurrentVersion }),
        // A server-ordered command still conflicting after its bounded retries (ConflictPolicy): busy, not broken.
        _ when ConflictPolicy.IsConflict(exception) => new(409, "Conflict", "the resource kept changing while this command ran; retry"),
        Domain.Plugins.PluginNotEnabled e => new(409, "Plugin not enabled", e.Message),
        Application.Plugins.PluginCallFailed e => new(e.TimedOut ? 504 : 502, e.TimedOut ? "Plugin timed out" : "Plugin failed", e.Message,
            new Dictionary<string, object?> { ["errorClass"] = e.ErrorClass, ["invocationId"] = e.InvocationId, ["sequence"] = e.Sequence }),
        Application.Conversations.ReplyFailed e => new(e.TimedOut ? 504 : 502, e.TimedOut ? "Model timed out" : "Model failed", e.Message,
            new Dictionary<string, object?> { ["errorClass"] = e.ErrorClass, ["turn"] = e.Turn }),
        Domain.Scripts.ScriptRefused e => new(422, "Script refused", e.Message, new Dictionary<string, object?>
        {
            ["errors"] = e.Problems.Select(p => new { line = p.Line, column = p.Column, message = p.Message }).ToList()
        }),
        DomainRuleViolated e => new(422, "Domain rule violated", e.Message),
        Application.Scripts.ScriptArgumentInvalid e => new(400, "Invalid argument", e.Message),
        NotYetConsistent e => new(503, "Read model not yet consistent", e.Message,
            new Dictionary<string, object?> { ["minSequence"] = e.MinSequence }, RetryAfterSeconds: 1),
        BadHttpRequestException e => new(e.StatusCode, e.StatusCode == 413 ? "Request too large" : "Bad request", e.Message),
        JsonException e => new(400, "Invalid JSON", e.Message),
        _ when StoreFailures.IsUnavailable(exception) =>
            new(503, "Store unavailable", "The event store cannot be reached; retry shortly.", RetryAfterSeconds: 5),
        _ => null
    };
}

/// <summary>An RFC 9457 problem before it is written: status, title, detail and any extension members.</summary>
public sealed record Problem(
    int Status, string Title, string? Detail, IDictionary<string, object?>? Extensions = null, int? RetryAfterSeconds = null);
