using Aetherra.Domain.Conversations;

namespace Aetherra.Domain.Tests;

/// <summary>How a model's extraction answer is read: leniently in form, strictly in what it may touch.</summary>
public sealed class ExtractionTests
{
    [Fact]
    public void an_answer_wrapped_in_prose_and_a_code_fence_is_read()
    {
        var found = Extraction.Parse("Sure! ```json\n{\"memories\":[{\"content\":\" Ada lives in Oslo \",\"kind\":\"fact\",\"importance\":0.8,\"replaces\":null}]}\n```", 0);
        Assert.Equal([new ExtractedMemory("Ada lives in Oslo", MemoryKind.Fact, 0.8, null)], found);
    }

    [Fact]
    public void replaces_names_only_a_memory_the_model_was_shown()
    {
        var found = Extraction.Parse("""{"memories":[{"content":"a","kind":"fact","replaces":2},{"content":"b","kind":"fact","replaces":3},{"content":"c","kind":"fact","replaces":0}]}""", 2)!;
        Assert.Equal([2, null, null], found.Select(m => m.Replaces));
    }

    [Fact]
    public void unknown_kinds_blank_contents_and_non_objects_are_dropped_and_importance_is_clamped()
    {
        var found = Extraction.Parse("""{"memories":[{"content":"x","kind":"rumour"},{"content":"  ","kind":"fact"},{"content":"y","kind":"3"},"z",{"content":"w","importance":7}]}""", 0)!;
        Assert.Equal([new ExtractedMemory("w", MemoryKind.Fact, 1, null)], found);
    }

    [Theory]
    [InlineData("no json here")]
    [InlineData("{not json}")]
    [InlineData("{\"facts\":[]}")]
    [InlineData("{\"memories\":{}}")]
    public void an_answer_without_a_memories_list_is_no_answer(string answer) => Assert.Null(Extraction.Parse(answer, 1));

    [Fact]
    public void the_instructions_number_the_known_memories_and_the_source_names_the_turn()
    {
        var id = Guid.Parse("01900000-0000-7000-8000-000000000001");
        var text = Extraction.Instructions("ada", [new RecalledMemory(id, 1, "Ada lives\nin Oslo", DateTimeOffset.UnixEpoch)]);
        Assert.Contains("[1] Ada lives in Oslo", text);
        Assert.Equal($"conversation:{id}/turn:3", Extraction.Source(id, 3));
        Assert.Equal($"superseded by conversation:{id}/turn:3", Extraction.SupersededBy(id, 3));
    }
}
