using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Memory;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Memory;

/// <summary>Memory over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class MemoryEndpoints
{
    [WolverinePost("/memories", OperationId = MemoryActions.Record), Authorize(Policy = Scopes.MemoryWrite)]
    [ProducesResponseType<RecordMemoryResult>(StatusCodes.Status201Created), ProducesResponseType<RecordMemoryResult>(StatusCodes.Status200OK)]
    public static async Task<IResult> Record(
        RecordMemory body, HttpContext http, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, ILogger<RecordMemory> log,
        CancellationToken ct)
    {
        var r = await RecordMemoryHandler.Handle(body, http.Command(), store, keys, clock, ct, log);
        var answer = new { id = r.Id, version = r.Version, contentHash = r.ContentHash, deduplicated = r.Deduplicated, sequence = r.Sequence };
        return OutcomeStatus.Answer(r.Outcome, $"/memories/{r.Id}", answer);
    }

    [WolverinePost("/memories/batch", OperationId = MemoryActions.RecordBatch), Authorize(Policy = Scopes.MemoryWrite)]
    public static Task<RecordMemoriesResult> RecordBatch(
        RecordMemories body, HttpContext http, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct) =>
        RecordMemoriesHandler.Handle(body, http.Command(), store, keys, clock, ct);

    [WolverineGet("/memories/{id}", OperationId = "memory.get"), Authorize(Policy = Scopes.MemoryRead)]
    public static async Task<MemoryView> Get(
        Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        return await ReadMemory.Get(id, http.User.Tenant(), store, db, keys, clock, ct);
    }

    [WolverineGet("/memories/{id}/history", OperationId = "memory.history"), Authorize(Policy = Scopes.MemoryRead)]
    public static async Task<IReadOnlyList<MemoryHistoryEntry>> History(
        Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        return await ReadMemory.History(id, http.User.Tenant(), store, ct);
    }

    [WolverinePut("/memories/{id}", OperationId = MemoryActions.Revise), Authorize(Policy = Scopes.MemoryWrite)]
    public static Task<ReviseMemoryResult> Revise(
        Guid id, ReviseMemory body, HttpContext http, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct) =>
        ReviseMemoryHandler.Handle(id, body, http.Command(), store, keys, clock, ct);

    [WolverineDelete("/memories/{id}", OperationId = MemoryActions.Forget), Authorize(Policy = Scopes.MemoryWrite)]
    public static async Task<IResult> Forget(
        Guid id, string? reason, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        if (reason?.Length > MemoryLimits.MaxReasonLength)
            return RequestValidation.Invalid(http, new Dictionary<string, string[]>
            {
                ["reason"] = [$"The length of 'Reason' must be {MemoryLimits.MaxReasonLength} characters or fewer."]
            });
        return Results.Ok(await ForgetMemoryHandler.Handle(id, reason, http.Command(), store, clock, ct));
    }

    /// <summary>
    /// The path form. Routing leaves an encoded '/' (%2F) undecoded in a route value, so the subject is decoded
    /// from the raw path: DELETE /subjects/a%2Fb forgets "a/b". The body form takes any subject as it is.
    /// </summary>
    [WolverineDelete("/subjects/{subject}", OperationId = MemoryActions.ForgetSubject), Authorize(Policy = Scopes.MemoryWrite)]
    public static async Task<IResult> ForgetSubject(
        string subject, HttpContext http, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        subject = RawPathSegment(http) ?? subject;
        if (string.IsNullOrWhiteSpace(subject) || subject.Length > MemoryLimits.MaxNameLength)
            return RequestValidation.Invalid(http, new Dictionary<string, string[]>
            {
                ["subject"] = [$"'Subject' must be 1 to {MemoryLimits.MaxNameLength} characters."]
            });
        return Results.Ok(await ForgetSubjectHandler.Handle(subject, http.Command(), store, keys, clock, ct));
    }

    [WolverinePost("/subjects/forget", OperationId = MemoryActions.ForgetSubjectByBody), Authorize(Policy = Scopes.MemoryWrite)]
    public static async Task<ForgetSubjectResult> ForgetSubjectByBody(
        ForgetSubject body, HttpContext http, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct) =>
        await ForgetSubjectHandler.Handle(body.Subject!, http.Command(), store, keys, clock, ct);

    /// <summary>The last segment of the path as the client sent it, fully percent-decoded.</summary>
    private static string? RawPathSegment(HttpContext http)
    {
        var raw = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw)) return null;
        var path = raw.Split('?', 2)[0];
        var segment = path[(path.LastIndexOf('/') + 1)..];
        try
        {
            return Uri.UnescapeDataString(segment);
        }
        catch (UriFormatException)
        {
            return null;
        }
    }
}
