using System.Collections.Concurrent;
using Aetherra.Application.Recall;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Conversations;

/// <summary>
/// What a reply needs, in one singleton so that every transport (HTTP, MCP) calls the same static use case with
/// it. Replies are generated on the host's lifetime, not the request's: a client that drops mid-reply reconnects
/// to the same generation.
/// </summary>
public sealed class ConversationEngine(
    IDocumentStore store, SubjectKeyStore keys, NpgsqlDataSource dataSource, RecallQuery recall, ModelChain models,
    ReplyStreams streams, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<ConversationEngine> log,
    IServiceScopeFactory scopes)
{
    public IDocumentStore Store { get; } = store;
    public SubjectKeyStore Keys { get; } = keys;
    public NpgsqlDataSource DataSource { get; } = dataSource;
    public RecallQuery Recall { get; } = recall;
    public ModelChain Models { get; } = models;
    public ReplyStreams Streams { get; } = streams;
    public TimeProvider Clock { get; } = clock;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    public ILogger Log { get; } = log;
    /// <summary>Queues a user turn's extraction in the turn's own transaction.</summary>
    public IServiceScopeFactory Scopes { get; } = scopes;

    /// <summary>The most conversations whose subject is remembered before the memory starts again.</summary>
    private const int RememberedSubjects = 100_000;

    private readonly ConcurrentDictionary<(string Tenant, Guid Id), string> subjects = new();

    /// <summary>
    /// The subject of a conversation of the tenant that this process has replied to (a conversation's subject never
    /// changes), or null: a reply then starts its recall before the stream's lock instead of after it.
    /// </summary>
    public string? SubjectOf(string tenant, Guid id) => subjects.TryGetValue((tenant, id), out var subject) ? subject : null;

    public void RememberSubject(string tenant, Guid id, string subject)
    {
        if (subjects.Count >= RememberedSubjects) subjects.Clear();
        subjects[(tenant, id)] = subject;
    }
}
