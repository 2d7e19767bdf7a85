import { FormattedString, fmt } from '@grammyjs/parse-mode';
import { describe, expect, it } from 'vitest';
import { joinLines } from '../../src/modules/bot/views.ts';

const B = FormattedString.b;
const I = FormattedString.i;

describe('joinLines', () => {
  it('gives what parse-mode’s join with a newline gives: text and every entity at its offset', () => {
    const lines = [
      fmt`${B('Limão Tahiti')}`,
      fmt`plain line`,
      fmt`R$ ${B('4,90')} · ${I('em estoque')}`,
      fmt``,
      fmt`${B('😀 emoji')} after`,
    ];
    const joined = joinLines(lines);
    const reference = FormattedString.join(lines, '\n');
    expect(joined.text).toBe(reference.text);
    expect(joined.entities).toEqual(reference.entities);
    // Offsets are counted in the joined text: the italic sits on the third line.
    expect(joined.entities.find((e) => e.type === 'italic')?.offset).toBe(joined.text.indexOf('em estoque'));
  });

  it('leaves the lines it joined untouched', () => {
    const line = fmt`${B('x')}`;
    joinLines([fmt`a`, line]);
    expect(line.entities[0]?.offset).toBe(0);
  });

  it('joins one line and no lines', () => {
    expect(joinLines([fmt`${B('só')}`]).entities).toEqual([{ type: 'bold', offset: 0, length: 2 }]);
    expect(joinLines([]).text).toBe('');
  });
});
