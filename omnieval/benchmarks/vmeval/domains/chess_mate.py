"""Chess, mate in one (white to move), checked with the `chess` package.

Positions are searched at random among few-piece endings (a back-rank king with a white queen or
rook and the white king nearby) until white has a mating move. Any mating move counts as solved;
the wrong move is a legal move of the mating piece that does not mate.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

import numpy as np

from omnieval.benchmarks.vmeval.board import CANVAS, Board, Slot, State, solid
from omnieval.benchmarks.vmeval.domains.base import Domain, Meta, Verdict
from omnieval.benchmarks.vmeval.draw import as_array, canvas

SQ = CANVAS // 8
LIGHT, DARK = (240, 217, 181), (181, 136, 99)
EMPTY = "."
PIECES = "PNBRQKpnbrqk"
_NAMES = {"p": "pawn", "n": "knight", "b": "bishop", "r": "rook", "q": "queen", "k": "king"}


def _chess() -> Any:
    try:
        import chess
    except ImportError as err:  # pragma: no cover - the vmeval extra installs it
        raise ImportError(
            "the vmeval chess tasks need the `chess` package: pip install 'omnieval[vmeval]'"
        ) from err
    return chess


def square_name(index: int) -> str:
    return "abcdefgh"[index % 8] + str(index // 8 + 1)


class ChessBoard(Board):
    def slots(self) -> list[Slot]:
        # slot name = square name; rank 8 at the top
        return [
            Slot(square_name(sq), (7 - sq // 8) * SQ, (sq % 8) * SQ, SQ, SQ) for sq in range(64)
        ]

    def labels(self, slot: Slot) -> tuple[str, ...]:
        return (EMPTY, *PIECES)

    def tile(self, label: str, slot: Slot) -> np.ndarray:
        light = (slot.x // SQ + slot.y // SQ) % 2 == 0
        return _tile(label, light)


@lru_cache(maxsize=32)
def _tile(label: str, light: bool) -> np.ndarray:
    ground = LIGHT if light else DARK
    if label == EMPTY:
        return solid(SQ, SQ, ground)
    image, draw = canvas(SQ, SQ, ground)
    white = label.isupper()
    fill, line = ((250, 250, 250), (0, 0, 0)) if white else ((15, 15, 15), (235, 235, 235))
    kind = label.lower()
    base = [(7, 27), (25, 27), (23, 23), (9, 23)]
    draw.polygon(base, fill=fill, outline=line)
    if kind == "p":
        draw.ellipse((11, 8, 21, 18), fill=fill, outline=line)
        draw.polygon([(12, 23), (20, 23), (18, 16), (14, 16)], fill=fill, outline=line)
    elif kind == "r":
        draw.rectangle((9, 10, 23, 23), fill=fill, outline=line)
        for x in (9, 14, 19):
            draw.rectangle((x, 5, x + 4, 10), fill=fill, outline=line)
    elif kind == "n":
        draw.polygon([(10, 23), (12, 12), (8, 14), (7, 10), (14, 4), (22, 8), (23, 23)],
                     fill=fill, outline=line)
        draw.ellipse((15, 8, 18, 11), fill=line)
    elif kind == "b":
        draw.ellipse((10, 6, 22, 23), fill=fill, outline=line)
        draw.line([(13, 10), (19, 16)], fill=line, width=2)
        draw.ellipse((14, 2, 18, 6), fill=fill, outline=line)
    elif kind == "q":
        draw.polygon([(8, 23), (5, 7), (11, 15), (16, 4), (21, 15), (27, 7), (24, 23)],
                     fill=fill, outline=line)
        for x, y in ((5, 7), (16, 4), (27, 7)):
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=line)
    elif kind == "k":
        draw.rectangle((9, 12, 23, 23), fill=fill, outline=line)
        draw.rectangle((14, 2, 18, 12), fill=line)
        draw.rectangle((11, 5, 21, 8), fill=line)
    return as_array(image)


def _placement(fen: str) -> State:
    chess = _chess()
    board = chess.Board(fen)
    state: State = {}
    for sq in range(64):
        piece = board.piece_at(sq)
        state[square_name(sq)] = piece.symbol() if piece else EMPTY
    return state


def _describe(label: str) -> str:
    return ("white " if label.isupper() else "black ") + _NAMES[label.lower()]


class ChessMate(Domain):
    name = "chess"

    def generate(self, rng: random.Random) -> Meta:
        chess = _chess()
        while True:
            board = chess.Board(None)
            bk_file = rng.randrange(8)
            board.set_piece_at(chess.square(bk_file, 7), chess.Piece(chess.KING, chess.BLACK))
            heavy = rng.choice((chess.QUEEN, chess.ROOK))
            if heavy == chess.ROOK or rng.random() < 0.5:  # a pawn shield: a back-rank pattern
                for f in (bk_file - 1, bk_file, bk_file + 1):
                    if 0 <= f < 8 and rng.random() < 0.8:
                        board.set_piece_at(chess.square(f, 6), chess.Piece(chess.PAWN, chess.BLACK))
            wk = chess.square(rng.randrange(8), rng.choice((0, 1, 5)))
            if board.piece_at(wk) is None:
                board.set_piece_at(wk, chess.Piece(chess.KING, chess.WHITE))
            free = [sq for sq in range(8, 56) if board.piece_at(sq) is None]
            board.set_piece_at(rng.choice(free), chess.Piece(heavy, chess.WHITE))
            board.turn = chess.WHITE
            if not board.is_valid() or board.is_check():
                continue
            if board.king(chess.WHITE) is None:
                continue
            mates = []
            for move in board.legal_moves:
                board.push(move)
                if board.is_checkmate():
                    mates.append(move)
                board.pop()
            if not mates:
                continue
            move = mates[0]
            san = board.san(move)
            after = board.copy()
            after.push(move)
            return {
                "difficulty": "easy" if len(mates) > 1 else "medium",
                "fen": board.fen(),
                "solution_move": move.uci(),
                "solution_san": san,
                "mating_moves": [m.uci() for m in mates],
                "final_fen": after.fen(),
            }

    def prompt(self, meta: Meta) -> str:
        return (
            "White to move. Find the checkmate in one move and show the piece moving to its "
            "square; the final frame must show the board after the mating move."
        )

    def board(self, meta: Meta) -> Board:
        return ChessBoard()

    def solution(self, meta: Meta) -> list[State]:
        return [_placement(meta["fen"]), _placement(meta["final_fen"])]

    def wrong(self, meta: Meta) -> list[State]:
        chess = _chess()
        board = chess.Board(meta["fen"])
        mate = chess.Move.from_uci(meta["solution_move"])
        moves = [m for m in board.legal_moves if m.uci() not in meta["mating_moves"]]
        same_piece = [m for m in moves if m.from_square == mate.from_square]
        move = (same_piece or moves)[0]
        board.push(move)
        return [_placement(meta["fen"]), _placement(board.fen())]

    def check(self, meta: Meta, state: State) -> Verdict:
        chess = _chess()
        start = chess.Board(meta["fen"])
        if state == _placement(meta["fen"]):
            return Verdict(False, "no move was made: the position is unchanged")
        for uci in meta["mating_moves"]:
            after = start.copy()
            after.push(chess.Move.from_uci(uci))
            if state == _placement(after.fen()):
                return Verdict(True, f"{start.san(chess.Move.from_uci(uci))} mates")
        expected = _placement(meta["final_fen"])
        extra = [(sq, lab) for sq, lab in state.items() if lab != EMPTY and expected[sq] != lab]
        missing = [(sq, lab) for sq, lab in expected.items() if lab != EMPTY and state[sq] != lab]
        for move in start.legal_moves:
            after = start.copy()
            after.push(move)
            if state == _placement(after.fen()):
                sq, piece = extra[0] if extra else ("", "?")
                want = [s for s, lab in missing if lab == piece]
                where = f" instead of {want[0]}" if want else ""
                what = _describe(piece) if piece != "?" else "a piece"
                return Verdict(
                    False,
                    f"{what} on {sq}{where}: {start.san(move)} is legal but not "
                    f"mate ({meta['solution_san']} is)",
                )
        parts = [f"{_describe(lab)} on {sq}" for sq, lab in extra[:2]]
        parts += [f"no {_describe(lab)} on {sq}" for sq, lab in missing[:2]]
        return Verdict(False, "not a legal mating position: " + ", ".join(parts))
