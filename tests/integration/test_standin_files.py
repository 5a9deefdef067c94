"""The Discord stand-in's files, driven through the real discord.py client (and raw
multipart where discord.py checks first): upload limits by the server's boost level, as
discord.py reads them from GUILD_CREATE; 413 with code 40005 past them; at most 10
attachments; voice messages checked as Discord checks them; attachment downloads streamed
at the stand-in's own address, and a 404 once a signed link expired."""

from __future__ import annotations

import io
import base64
import json

import aiohttp
import discord
import pytest

from sandbox.discord import DiscordStandIn
from tests.integration.test_standin_private_and_buttons import connected, make_client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
GUILD = 112233445566770000
BOOSTED_GUILD = 112233445566771111
CHANNEL = 112233445566778899
BOOSTED = 112233445566779911
MEMBER = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}
MIB = 1024 * 1024


@pytest.fixture
async def standin():
    server = DiscordStandIn(
        DC_TOKEN,
        {
            GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft"}},
            BOOSTED_GUILD: {"name": "Sport", "premium_tier": 2, "channels": {BOOSTED: "sport"}},
        },
    )
    await server.start()
    yield server
    await server.stop()


async def test_upload_limits_follow_the_boost_level(standin):
    big = bytes(11 * MIB)
    async with connected(standin, make_client()) as client:
        assert client.get_guild(GUILD).filesize_limit == 10 * MIB
        assert client.get_guild(BOOSTED_GUILD).filesize_limit == 50 * MIB
        with pytest.raises(discord.HTTPException) as refused:
            await client.get_channel(CHANNEL).send(file=discord.File(io.BytesIO(big), "big.bin"))
        assert (refused.value.status, refused.value.code) == (413, 40005)
        message = await client.get_channel(BOOSTED).send(file=discord.File(io.BytesIO(big), "big.bin"))
    assert standin.uploads(BOOSTED)[0]["data"] == big
    assert standin.message(BOOSTED, message.id)["attachments"][0]["size"] == len(big)
    assert standin.uploads(CHANNEL) == []


async def _post(standin: DiscordStandIn, path: str, payload: dict, files: list[tuple[str, bytes, str]], bot=True):
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    for n, (name, data, content_type) in enumerate(files):
        form.add_field(f"files[{n}]", data, filename=name, content_type=content_type)
    headers = {"Authorization": f"Bot {DC_TOKEN}"} if bot else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(standin.api_url + path, data=form, headers=headers) as response,
    ):
        return response.status, await response.json()


VOICE = [("voice-message.ogg", b"OggS" + bytes(1000), "audio/ogg")]
VOICE_META = {"id": 0, "filename": "voice-message.ogg", "duration_secs": 2.5, "waveform": "AAECAwQ="}


async def test_voice_messages_are_checked_as_discord_checks_them(standin):
    route = f"/channels/{CHANNEL}/messages"
    status, body = await _post(standin, route, {"flags": 8192, "attachments": [{"id": 0}]}, VOICE)
    assert (status, body["code"]) == (400, 50161)  # no duration_secs / waveform
    status, body = await _post(standin, route, {"flags": 8192, "content": "hi", "attachments": [VOICE_META]}, VOICE)
    assert (status, body["code"]) == (400, 50159)  # no content with a voice message
    two = VOICE + [("b.ogg", b"OggS", "audio/ogg")]
    status, body = await _post(standin, route, {"flags": 8192, "attachments": [VOICE_META]}, two)
    assert (status, body["code"]) == (400, 50160)
    too_long = {**VOICE_META, "waveform": base64.b64encode(bytes(257)).decode()}  # over 256 samples
    status, body = await _post(standin, route, {"flags": 8192, "attachments": [too_long]}, VOICE)
    assert (status, body["code"]) == (400, 50035) and "attachments" in body["errors"]
    status, body = await _post(standin, route, {"flags": 8192, "attachments": [VOICE_META]}, VOICE)
    assert status == 200 and body["flags"] == 8192
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            f"{standin.api_url}{route}/{body['id']}", json={"content": ""}, headers={"Authorization": f"Bot {DC_TOKEN}"}
        ) as response,
    ):
        assert (response.status, (await response.json())["code"]) == (400, 50162)  # never edited
    assert (body["attachments"][0]["duration_secs"], body["attachments"][0]["waveform"]) == (2.5, "AAECAwQ=")

    # Execute Webhook takes no IS_VOICE_MESSAGE flag.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{standin.api_url}/channels/{CHANNEL}/webhooks",
            json={"name": "twinbridge"},
            headers={"Authorization": f"Bot {DC_TOKEN}"},
        ) as response,
    ):
        hook = await response.json()
    status, body = await _post(
        standin,
        f"/webhooks/{hook['id']}/{hook['token']}?wait=true",
        {"flags": 8192, "attachments": [VOICE_META]},
        VOICE,
        bot=False,
    )
    assert (status, body["code"]) == (400, 50035) and "flags" in body["errors"]


async def test_at_most_ten_attachments(standin):
    files = [(f"{n}.png", b"\x89PNG" + bytes(10), "image/png") for n in range(11)]
    status, body = await _post(standin, f"/channels/{CHANNEL}/messages", {"content": "x"}, files)
    assert (status, body["code"]) == (400, 50035) and "attachments" in body["errors"]
    status, _ = await _post(standin, f"/channels/{CHANNEL}/messages", {"content": "x"}, files[:10])
    assert status == 200


async def test_downloads_are_streamed_and_expire(standin):
    data = bytes(range(256)) * 4000
    message = standin.inject_files_message(CHANNEL, MEMBER, "", [("fest.jpg", data)])
    (attachment,) = message["attachments"]
    assert attachment["url"].startswith(standin.base_url + "/attachments/") and attachment["size"] == len(data)
    async with aiohttp.ClientSession() as session:
        async with session.get(attachment["url"]) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
            assert response.content_length == len(data)
            assert await response.read() == data
        standin.expire_attachment_url(attachment["id"])
        async with session.get(attachment["url"]) as response:
            assert response.status == 404
        fresh = standin.message(CHANNEL, int(message["id"]))["attachments"][0]["url"]
        assert fresh != attachment["url"]
        async with session.get(fresh) as response:
            assert await response.read() == data
    assert [status for _, status in standin.downloads] == [200, 404, 200]
