{# flysim's thresholder: brian2's cpp_standalone threshold template, with the test run first
   over blocks of 64 neurons without writing anything, so that gcc vectorises it; only a block
   in which some neuron crosses threshold is scanned again to append its spikes. Same spikes in
   the same order as brian2's template; used only for conditions without random numbers (the
   condition is evaluated twice in a block that spikes).
   The same first pass checks that every membrane potential is within [v_floor, v_ceil]
   (flysim.run.guards): a block with a neuron outside is scanned again to record, for each such
   neuron, the first time (t_out) and value (v_out). The check reads only v, already loaded, so
   it costs nearly nothing; a separate loop over the neurons cost a sixth of the network's time. #}
{# USES_VARIABLES { N, v, v_floor, v_ceil, t_out, v_out, t } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    const size_t _block_size = 64;
    const double _v_floor = {{v_floor}}, _v_ceil = {{v_ceil}}, _t_now = {{t}};  // shared: [0]
    for(size_t _block=0; _block<(size_t)N; _block+=_block_size)
    {
        const size_t _end = _block + _block_size < (size_t)N ? _block + _block_size : (size_t)N;
        char _any = 0, _any_out = 0;
        for(size_t _idx=_block; _idx<_end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _any |= _cond;
            const double _v = {{v}}[_idx];
            _any_out |= !(_v >= _v_floor && _v <= _v_ceil);  // also true for NaN
        }
        if(_any_out)
        {
            for(size_t _idx=_block; _idx<_end; _idx++)
            {
                const double _v = {{v}}[_idx];
                if(!(_v >= _v_floor && _v <= _v_ceil) && {{t_out}}[_idx] > _t_now) {
                    {{t_out}}[_idx] = _t_now;
                    {{v_out}}[_idx] = _v;
                }
            }
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
