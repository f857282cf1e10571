using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Conversations;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Conversations;

/// <summary>Conversations over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class ConversationEndpoints
{
    [WolverinePost("/conversations", OperationId = ConversationActions.Start), Authorize(Policy = Scopes.ConversationsWrite)]
    public static async Task<IResult> Start(
        StartConversation body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var r = await StartConversationHandler.Handle(body, http.Command(), store, clock, ct);
        return Results.Created($"/conversations/{r.Id}", r);
    }

    [WolverinePost("/conversations/{id}/turns", OperationId = ConversationActions.RecordTurn), Authorize(Policy = Scopes.ConversationsWrite)]
    public static async Task<IResult> RecordTurn(
        Guid id, RecordTurn body, HttpContext http, ConversationEngine engine, CancellationToken ct)
    {
        var r = await RecordTurnHandler.Handle(id, body, http.Command(), engine, ct);
        return Results.Created($"/conversations/{id}", r);
    }

    [WolverinePost("/conversations/{id}/close", OperationId = ConversationActions.Close), Authorize(Policy = Scopes.ConversationsWrite)]
    public static Task<CloseConversationResult> Close(
        Guid id, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        CloseConversationHandler.Handle(id, http.Command(), store, clock, ct);

    [WolverineGet("/conversations/{id}", OperationId = "conversation.get"), Authorize(Policy = Scopes.ConversationsRead)]
    public static async Task<ConversationView> Get(
        Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        return await ReadConversation.Get(id, http.User.Tenant(), store, db, keys, ct);
    }

    [WolverineGet("/conversations", OperationId = "conversation.list"), Authorize(Policy = Scopes.ConversationsRead)]
    public static async Task<IResult> List(
        string? subject, string? agent, int? limit, long? minSequence, HttpContext http, IValidator<ConversationQuery> validator,
        IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        var query = new ConversationQuery(subject, agent, limit);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(await ReadConversation.List(session, query, ct));
    }
}
