using System.Security.Claims;
using System.Text.Json;
using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using FluentValidation;
using Marten;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>
/// What the HTTP pipeline does around a route, done around a tool call: the caller's scopes decide which tools it
/// sees and may call; arguments are checked (NUL, size) before they are bound and validated by the route's own
/// validators inside the tool; a command ends with an audit record whatever happens (accepted ones record
/// themselves in their own transaction, as over HTTP); a known failure is an error result carrying the problem's
/// title and detail, never a broken session.
/// </summary>
public static class McpGate
{
    /// <summary>Tool arguments at most this large: a memory at its content limit, or a plugin input at its limit, fits.</summary>
    public const int MaxArgumentBytes = 512 * 1024;

    public static void Add(IMcpRequestFilterBuilder filters)
    {
        filters.AddListToolsFilter(next => async (context, ct) =>
        {
            var result = await next(context, ct);
            var user = Caller(context);
            result.Tools = result.Tools
                .Where(t => McpCatalogue.Tools.TryGetValue(t.Name, out var access) && user.HasScope(access.Scope))
                .ToList();
            return result;
        });
        filters.AddCallToolFilter(next => async (context, ct) =>
        {
            if (context.Params?.Name is not { } name || !McpCatalogue.Tools.TryGetValue(name, out var access))
                return await next(context, ct);
            var services = context.Services ?? throw new InvalidOperationException("the MCP request has no services");
            var user = Caller(context);
            var call = services.GetRequiredService<McpCall>();
            call.Begin(user, access.Action);

            Problem problem;
            if (!user.HasScope(access.Scope))
                problem = new Problem(403, "Forbidden", $"The key lacks the scope '{access.Scope}'.");
            else if (ArgumentProblem(context.Params.Arguments) is { } refused)
                problem = refused;
            else
            {
                try
                {
                    var result = await next(context, ct);
                    if (call.CommandOrNull is { Audited: false } command)
                        await RecordEndingAsync(services, command, context.Params.Arguments, 200, "OK");
                    return result;
                }
                catch (McpInvalidArguments e)
                {
                    problem = e.Problem;
                }
                catch (Exception e) when (e is ArgumentException or JsonException or FormatException)
                {
                    // The SDK binds the arguments to the tool's parameters: a wrong type or a missing argument lands here.
                    problem = new Problem(400, "Invalid arguments", e.Message);
                }
                catch (Exception e) when (Problems.Describe(e) is { } known)
                {
                    problem = known;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    if (call.CommandOrNull is { Audited: false } command)
                        await RecordEndingAsync(services, command, context.Params.Arguments, 499, "Client closed request");
                    throw;
                }
                catch (Exception e)
                {
                    services.GetRequiredService<ILogger<McpCall>>().LogError(e, "Unhandled error in MCP tool {Tool}", name);
                    problem = new Problem(500, "Internal error", "An unexpected error occurred; it has been logged.");
                }
            }

            if (call.CommandOrNull is { Audited: false } failed)
                await RecordEndingAsync(services, failed, context.Params.Arguments, problem.Status, Reason(problem));
            return ErrorResult(problem);
        });
    }

    /// <summary>
    /// Resources and the prompt read memories: only a key with memory:read sees or reads them. They have no error
    /// result, so a known failure is a JSON-RPC error carrying the problem's title and detail.
    /// </summary>
    public static void AddReads(IMcpRequestFilterBuilder filters)
    {
        filters.AddListResourceTemplatesFilter(next => async (context, ct) =>
        {
            var result = await next(context, ct);
            if (!Caller(context).HasScope(ReadScope)) result.ResourceTemplates = [];
            return result;
        });
        filters.AddListPromptsFilter(next => async (context, ct) =>
        {
            var result = await next(context, ct);
            if (!Caller(context).HasScope(ReadScope)) result.Prompts = [];
            return result;
        });
        filters.AddReadResourceFilter(next => async (context, ct) =>
        {
            Begin(context);
            try { return await next(context, ct); }
            catch (Exception e) when (AsProtocolError(e) is { } error) { throw error; }
        });
        filters.AddGetPromptFilter(next => async (context, ct) =>
        {
            Begin(context);
            try { return await next(context, ct); }
            catch (Exception e) when (AsProtocolError(e) is { } error) { throw error; }
        });
    }

    private const string ReadScope = Application.Keys.Scopes.MemoryRead;

    private static void Begin(MessageContext context)
    {
        var user = Caller(context);
        if (!user.HasScope(ReadScope))
            throw new McpProtocolException($"Forbidden: the key lacks the scope '{ReadScope}'.", McpErrorCode.InvalidRequest);
        context.Services!.GetRequiredService<McpCall>().Begin(user, null);
    }

    private static McpProtocolException? AsProtocolError(Exception e) => e switch
    {
        McpProtocolException => null,
        McpInvalidArguments invalid => new McpProtocolException($"{invalid.Problem.Title}: {invalid.Problem.Detail}", McpErrorCode.InvalidParams),
        _ when Problems.Describe(e) is { } p =>
            new McpProtocolException($"{p.Title}: {p.Detail}", p.Status == 404 ? McpErrorCode.ResourceNotFound : McpErrorCode.InvalidParams),
        _ => null
    };

    /// <summary>The key's principal: HTTP authenticated it (the fallback policy refuses anonymous /mcp); stdio stamps it on every message.</summary>
    public static ClaimsPrincipal Caller(MessageContext context) =>
        context.User is { Identity.IsAuthenticated: true } user
            ? user
            : throw new McpProtocolException("A valid API key is required.", McpErrorCode.InvalidRequest);

    /// <summary>Runs the route's validator; a failure is the same 400 problem, with the same field names, as over HTTP.</summary>
    public static async Task ValidateAsync<T>(IValidator<T> validator, T body, CancellationToken ct)
    {
        var result = await validator.ValidateAsync(body, ct);
        if (!result.IsValid) throw new McpInvalidArguments(result.Errors
            .GroupBy(e => RequestValidation.CamelCasePath(e.PropertyName))
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray()));
    }

    public static CallToolResult ErrorResult(Problem problem)
    {
        var body = new Dictionary<string, object?> { ["status"] = problem.Status, ["title"] = problem.Title, ["detail"] = problem.Detail };
        foreach (var (k, v) in problem.Extensions ?? new Dictionary<string, object?>()) body[k] = v;
        return new CallToolResult
        {
            IsError = true,
            Content =
            [
                new TextContentBlock { Text = problem.Detail is null ? problem.Title : $"{problem.Title}: {problem.Detail}" },
                new TextContentBlock { Text = JsonSerializer.Serialize(body, McpJson.Options) }
            ]
        };
    }

    private static Problem? ArgumentProblem(IDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null) return null;
        long size = 0;
        foreach (var (key, value) in arguments)
        {
            size += key.Length + value.GetRawText().Length;
            if (size > MaxArgumentBytes)
                return new Problem(413, "Request too large", $"A tool call's arguments are at most {MaxArgumentBytes} bytes of JSON.");
        }
        // The same check as every HTTP body (NUL, unpaired surrogates, non-finite numbers, the all-zero id).
        var errors = InputText.Check(arguments.ToDictionary(a => a.Key, a => a.Value));
        return errors.Count == 0 ? null
            : new McpInvalidArguments(errors.ToDictionary(e => e.Key.TrimStart('.'), e => e.Value)).Problem;
    }

    private static string Reason(Problem problem) =>
        problem.Extensions?.TryGetValue("errors", out var errors) == true && errors is IDictionary<string, string[]> fields
            ? "validation failed: " + string.Join(", ", fields.Keys)
            : problem.Detail ?? problem.Title;

    /// <summary>As <see cref="AuditMiddleware"/> records a command that ended without its accepted record; the target is the id or subject argument, as the route's.</summary>
    private static async Task RecordEndingAsync(
        IServiceProvider services, Application.Common.CommandContext command, IDictionary<string, JsonElement>? arguments, int status, string reason)
    {
        var target = Target(arguments, "id") ?? Target(arguments, "subject");
        try
        {
            await AuditTrail.RecordEndingAsync(services.GetRequiredService<IDocumentStore>(), command, target, status, reason,
                services.GetRequiredService<TimeProvider>().GetUtcNow(), CancellationToken.None);
        }
        catch (Exception e)
        {
            services.GetRequiredService<ILogger<McpCall>>().LogError(e,
                "Could not record the audit of {Action} ({Status}) for MCP request {RequestId}", command.Action, status, command.RequestId);
        }
    }

    private static string? Target(IDictionary<string, JsonElement>? arguments, string name) =>
        arguments?.TryGetValue(name, out var v) == true && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>Arguments the route's validator refused: the 400 problem with each field's errors.</summary>
public sealed class McpInvalidArguments(IDictionary<string, string[]> errors) : Exception("One or more validation errors occurred.")
{
    public Problem Problem { get; } = new(400, "One or more validation errors occurred.",
        string.Join(" ", errors.SelectMany(e => e.Value)), new Dictionary<string, object?> { ["errors"] = errors });
}
