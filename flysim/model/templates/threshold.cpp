{# flysim's thresholder: brian2's cpp_standalone threshold template, with the test run first
   over blocks of 64 neurons without writing anything, so that gcc vectorises it; only a block
   in which some neuron crosses threshold is scanned again to append its spikes. Same spikes in
   the same order as brian2's template; used only for conditions without random numbers (the
   condition is evaluated twice in a block that spikes). #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    const size_t _block_size = 64;
    for(size_t _block=0; _block<(size_t)N; _block+=_block_size)
    {
        const size_t _end = _block + _block_size < (size_t)N ? _block + _block_size : (size_t)N;
        char _any = 0;
        for(size_t _idx=_block; _idx<_end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _any |= _cond;
        }
        if(!_any)
            continue;
        for(size_t _idx=_block; _idx<_end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            if(_cond) {
                {{_eventspace}}[_count++] = _idx;
                {% if _uses_refractory %}
                {{not_refractory}}[_idx] = false;
                {{lastspike}}[_idx] = {{t}};
                {% endif %}
            }
        }
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N+1 elements: its last one counts the events
{% endblock %}
